"""Writing the files the user asked for without ever replacing one they have, unless they said so.

Every output (quantized variants, saved lab results, reports) is written to a temporary name
beside its final one and then published: by a hard link, which fails when the name exists, so
that a file appearing meanwhile is not replaced either, and no half-written file is ever seen
under the final name.
"""

from __future__ import annotations

import os
import secrets

from .errors import FileExists


def publish(temporary: str, final_path: str, overwrite: bool) -> None:
    """Give `temporary` the name `final_path`. Raises FileExists when that name is taken and not
    `overwrite`; `temporary` is then left for the caller to remove."""
    if overwrite:
        os.replace(temporary, final_path)
        return
    try:
        os.link(temporary, final_path)  # fails if the name exists: nothing the user has is replaced
    except FileExistsError:
        raise FileExists(f"{final_path} exists; not replaced (ask to overwrite)") from None
    except OSError:
        if os.path.exists(final_path):
            raise FileExists(f"{final_path} exists; not replaced (ask to overwrite)") from None
        os.rename(temporary, final_path)  # a file system without hard links
        return
    os.unlink(temporary)


def remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def temporary_beside(final_path: str) -> str:
    """A hidden name in the same folder (so that publishing is a link, not a copy), unique to this
    call: two writers of the same output (the app's main window and its lab window) never share one."""
    token = secrets.token_hex(4)
    return os.path.join(os.path.dirname(final_path) or ".",
                        f".{os.path.basename(final_path)}.{os.getpid()}.{token}.partial")


def write_new_file(final_path: str, data: bytes, *, overwrite: bool = False) -> None:
    """Write `data` to `final_path`, never replacing an existing file unless `overwrite`.
    Raises FileExists, or OSError when the folder cannot be written."""
    folder = os.path.dirname(os.path.abspath(final_path))
    if not os.path.isdir(folder):
        raise OSError(f"{folder}: no such folder")
    temporary = temporary_beside(final_path)
    try:
        with open(temporary, "wb") as f:
            f.write(data)
        publish(temporary, final_path, overwrite)
    except FileExistsError:
        raise
    except OSError as e:
        # A full disk says "[Errno 28] No space left on device" of no file: name the output.
        raise OSError(e.errno, f"{final_path} could not be written: {e.strerror or e}") from None
    finally:
        remove_quietly(temporary)
