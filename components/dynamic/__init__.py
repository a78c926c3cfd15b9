"""What the project's dynamic providers share: their inputs as the engine hands them (``values``), HTTP with TLS
verified for a server name (``http``), and what refresh and delete do when an endpoint cannot be reached
(``unreachable``)."""
