"""One instance of the registry on one Docker host: its containers (``container``), where its data lives
(``storage``) and what its Docker engine keeps of what is declared (``docker_engine``)."""
