"""One Pack declared for the sample pack, as the program will declare each checked pack directory."""

from pathlib import Path

import pulumi

from components.packs import Pack
from components.packs.archive import pack_content

SAMPLE = Path(__file__).resolve().parent.parent / "packs" / "hello-universe"

content = pack_content(SAMPLE)
pack = Pack(
    "pack-hello-universe-1.0.0",
    pack_dir=str(SAMPLE),
    name="hello-universe",
    version="1.0.0",
    content_digest=content.content_digest,
    files=content.files,
    registry_url="https://127.0.0.1:5443",
    server_name="registry.example.com",
    ca_certificate=None,
    repository="base/spectro-packs/archive",
    username="admin",
    password=pulumi.Config().require_secret("adminPassword"),
)
pulumi.export("packReference", pack.reference)
