"""Which library an archive store needs, asked before anything changes: a missing one is one line
naming what to install, not an ImportError from deep inside an archive run (the CoP left closing)."""

from __future__ import annotations

import fsspec
from fsspec.utils import get_protocol

from models.errors import BadInput

# The stores copflow offers as extras (pyproject.toml): the library fsspec needs, and the extra.
EXTRAS = {"s3": ("s3fs", "s3"), "s3a": ("s3fs", "s3"),
          "az": ("adlfs", "azure"), "abfs": ("adlfs", "azure"), "abfss": ("adlfs", "azure")}
# Others fsspec can reach, installed by hand.
LIBRARIES = {"gs": "gcsfs", "gcs": "gcsfs", "sftp": "paramiko"}


def require_driver(url: str) -> str:
    """The library behind this archive URL ("" for a folder); BadInput naming what to install
    when it cannot be imported here."""
    protocol = get_protocol(url)
    if protocol in ("file", "local"):
        return ""
    library, extra = EXTRAS.get(protocol, (LIBRARIES.get(protocol, protocol), None))
    try:
        fsspec.get_filesystem_class(protocol)
    except (ImportError, ValueError):  # fsspec says ValueError for a protocol it has no entry for
        how = f"pip install 'copflow[{extra}]'" if extra else f"pip install {library}"
        raise BadInput(f"COPFLOW_ARCHIVE_URL: {protocol}:// archives need {library}, which is not "
                       f"installed here; run: {how}") from None
    return library


def archive_store_ready() -> str:
    """`copflow doctor`'s line: where archives go, and that the library for that store is here."""
    from tasks.storage.settings import get_settings

    root = get_settings().archive_root
    library = require_driver(root)
    return f"{root} ({library} installed)" if library else f"{root} (a folder)"
