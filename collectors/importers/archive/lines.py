"""Lines of an archive file, plain or ``.zst``, with the byte offset after each.

Files are streamed line by line, never loaded whole, and the offset after every line is what
an interrupted import resumes from.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from collectors.importers.archive.spec import ArchiveError

MAX_LINE_BYTES = 8 * 1024 * 1024  # a longer "line" is a broken file, not a news item
ZSTD_MAX_WINDOW = 2**31  # Pushshift dumps are compressed with --long=31
_CHUNK = 1024 * 1024


class LineReader:
    """Lines of a plain or ``.zst`` file with the (decompressed) byte offset after each.

    ``raw_position`` is how far into the file on disk the reader is: the progress bar's
    unit. A ``.zst`` stream cannot seek, so resuming decompresses and discards up to the
    saved offset (fast: no parsing happens there). A damaged ``.zst`` stream raises
    :class:`ArchiveError` naming the offset it was read to; batches before it stay committed.
    """

    def __init__(self, path: Path, offset: int = 0) -> None:
        self.path = path
        self._raw: IO[bytes] = path.open("rb")
        self._stream: IO[bytes]
        self._damaged: tuple[type[Exception], ...] = ()
        self.offset = 0
        if path.suffix == ".zst":
            import zstandard

            self._damaged = (zstandard.ZstdError,)
            reader = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW).stream_reader(
                self._raw, read_across_frames=True
            )
            self._stream = io.BufferedReader(reader, buffer_size=_CHUNK)
            self._skip(offset)
        else:
            self._raw.seek(offset)
            self._stream = self._raw
        self.offset = offset

    def _skip(self, offset: int) -> None:
        left = offset
        while left > 0:
            chunk = self._read(min(left, _CHUNK), line=False)
            if not chunk:
                raise ArchiveError(f"{self.path} is shorter than the saved offset {offset}")
            left -= len(chunk)
            self.offset += len(chunk)

    def _read(self, size: int, *, line: bool) -> bytes:
        try:
            return self._stream.readline(size) if line else self._stream.read(size)
        except self._damaged as err:
            raise ArchiveError(
                f"{self.path.name} is not a readable zstd stream after {self.offset} "
                f"decompressed bytes ({err}); rows before that are kept"
            ) from None

    @property
    def raw_position(self) -> int:
        return self._raw.tell()

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self._read(MAX_LINE_BYTES, line=True)
            if not line:
                return
            self.offset += len(line)
            if len(line) >= MAX_LINE_BYTES and not line.endswith(b"\n"):
                # Oversized row: swallow the rest of it and hand back a marker.
                while True:
                    more = self._read(MAX_LINE_BYTES, line=True)
                    if not more or more.endswith(b"\n"):
                        break
                    self.offset += len(more)
                self.offset += len(more)
                yield b""
                continue
            yield line

    def close(self) -> None:
        self._stream.close()
        self._raw.close()

    def __enter__(self) -> LineReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def decode_line(line: bytes, first: bool) -> tuple[str, bool]:
    """UTF-8 text of a line, and whether bytes had to be replaced."""
    if first and line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]
    try:
        return line.decode("utf-8"), False
    except UnicodeDecodeError:
        return line.decode("utf-8", errors="replace"), True


def refuse_wide_text(path: Path) -> None:
    """Raise :class:`ArchiveError` when the file is UTF-16 or UTF-32 text (a byte-order mark,
    or NUL bytes among its first characters): read as UTF-8 it would be garbage in every
    row. Spreadsheet programs write "Unicode text" exports this way."""
    with LineReader(path) as reader:
        first = next(iter(reader), b"")
    if first.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")) or b"\x00" in first[:4]:
        raise ArchiveError(
            f"{path.name} is UTF-16 or UTF-32 text; archives are read as UTF-8. Convert it "
            f"first, e.g. iconv -f UTF-16 -t UTF-8 {path.name} > {path.stem}.utf8{path.suffix}"
        )
