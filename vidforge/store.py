"""Object store: one small API over a local directory and S3 (or MinIO/moto).

Keys are ``/``-separated relative paths (``datasets/demo/v1/manifest.parquet``).
Every object also has a URI (``file:///…`` or ``s3://bucket/…``) that can be
stored in manifests and the registry and opened again with :func:`open_uri`.
Transient S3 errors are retried (:mod:`vidforge.retry`); a missing key raises
:class:`FileNotFoundError` on both backends.
"""

from __future__ import annotations

import contextlib
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from vidforge.retry import retry_transient

if TYPE_CHECKING:
    from vidforge.settings import StoreSettings


def _clean_key(key: str) -> str:
    key = key.strip("/")
    if not key or any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"invalid object key: {key!r}")
    return key


class ObjectStore(ABC):
    """Abstract object store rooted at :attr:`root_uri`."""

    root_uri: str

    def uri(self, key: str) -> str:
        """The absolute URI of ``key``."""
        return f"{self.root_uri.rstrip('/')}/{_clean_key(key)}"

    def key_of(self, uri: str) -> str:
        """The key of an absolute ``uri`` under this store's root.

        Raises:
            ValueError: the URI lies outside this store.
        """
        root = self.root_uri.rstrip("/") + "/"
        if not uri.startswith(root):
            raise ValueError(f"{uri} is not under {self.root_uri}")
        return _clean_key(uri[len(root) :])

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> str:
        """Write ``data`` at ``key`` (atomically); return its URI."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """Read the object at ``key``."""

    @abstractmethod
    def put_file(self, src: str | Path, key: str) -> str:
        """Upload a local file; return its URI."""

    @abstractmethod
    def get_file(self, key: str, dest: str | Path) -> Path:
        """Download ``key`` to ``dest`` (parents created); return ``dest``."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object exists at ``key``."""

    @abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """Keys under ``prefix`` (recursive, sorted)."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete one object (missing is fine)."""

    def local_path(self, key: str) -> Path | None:
        """A local filesystem path for ``key`` when the backend has one, else None."""
        return None

    @abstractmethod
    def settings(self) -> StoreSettings:
        """Serialisable settings that :func:`open_store` turns back into an equivalent store
        (how a store travels to another process, e.g. a Ray worker)."""

    def put_dir(self, src: str | Path, prefix: str) -> str:
        """Upload every file below ``src`` under ``prefix``; return the prefix URI."""
        src = Path(src)
        for p in sorted(x for x in src.rglob("*") if x.is_file()):
            self.put_file(p, f"{_clean_key(prefix)}/{p.relative_to(src).as_posix()}")
        return self.uri(prefix)

    def get_dir(self, prefix: str, dest: str | Path) -> Path:
        """Download every object under ``prefix`` into ``dest``.

        Raises:
            FileNotFoundError: nothing exists under ``prefix``.
        """
        prefix = _clean_key(prefix)
        keys = self.list(prefix)
        if not keys:
            raise FileNotFoundError(f"no objects under {self.uri(prefix)}")
        dest = Path(dest)
        for key in keys:
            self.get_file(key, dest / key[len(prefix) + 1 :])
        return dest

    def delete_prefix(self, prefix: str) -> int:
        """Delete everything under ``prefix``; return how many objects went."""
        keys = self.list(prefix)
        for key in keys:
            self.delete(key)
        return len(keys)


class LocalStore(ObjectStore):
    """A directory on the local filesystem (the embedded default)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.root_uri = self.root.as_uri()

    def _path(self, key: str) -> Path:
        return self.root / _clean_key(key)

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def settings(self) -> StoreSettings:
        from vidforge.settings import StoreSettings

        return StoreSettings(uri=str(self.root))  # a plain path: no percent-encoding to undo

    def put_bytes(self, key: str, data: bytes) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return self.uri(key)

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def put_file(self, src: str | Path, key: str) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        shutil.copyfile(src, tmp)
        tmp.replace(path)
        return self.uri(key)

    def get_file(self, key: str, dest: str | Path) -> Path:
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._path(key), dest)
        return dest

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        base = self._path(prefix) if prefix.strip("/") else self.root
        if base.is_file():
            return [_clean_key(prefix)]
        if not base.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.endswith(".tmp")
        )

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``, then the directories that left empty (they are no objects)."""
        deleted = super().delete_prefix(prefix)
        base = self._path(prefix)
        if prefix.strip("/") and base.is_dir():
            for path in sorted((p for p in base.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
                with contextlib.suppress(OSError):  # not empty: e.g. a write in progress
                    path.rmdir()
            with contextlib.suppress(OSError):
                base.rmdir()
        return deleted


class S3Store(ObjectStore):
    """An S3 bucket and prefix (AWS S3, MinIO, or moto's server in tests)."""

    def __init__(
        self, uri: str, endpoint_url: str | None = None, region: str = "us-east-1"
    ) -> None:
        import boto3

        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"not an s3:// uri: {uri}")
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.root_uri = f"s3://{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")
        self.endpoint_url, self.region = endpoint_url, region
        self.client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)

    def settings(self) -> StoreSettings:
        from vidforge.settings import StoreSettings

        return StoreSettings(uri=self.root_uri, s3_endpoint_url=self.endpoint_url, s3_region=self.region)

    def _k(self, key: str) -> str:
        key = _clean_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @retry_transient
    def put_bytes(self, key: str, data: bytes) -> str:
        self.client.put_object(Bucket=self.bucket, Key=self._k(key), Body=data)
        return self.uri(key)

    @retry_transient
    def get_bytes(self, key: str) -> bytes:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._k(key))
        except self.client.exceptions.NoSuchKey as e:
            raise FileNotFoundError(self.uri(key)) from e
        return bytes(obj["Body"].read())

    @retry_transient
    def put_file(self, src: str | Path, key: str) -> str:
        self.client.upload_file(str(src), self.bucket, self._k(key))
        return self.uri(key)

    @retry_transient
    def get_file(self, key: str, dest: str | Path) -> Path:
        from botocore.exceptions import ClientError

        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.client.download_file(self.bucket, self._k(key), str(dest))
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise FileNotFoundError(self.uri(key)) from e
            raise
        return dest

    @retry_transient
    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._k(key))
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def _iter_keys(self, prefix: str) -> Iterator[str]:
        full = self._k(prefix) if prefix.strip("/") else self.prefix
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if full and key != full and not key.startswith(full.rstrip("/") + "/"):
                    continue
                yield key[len(self.prefix) + 1 :] if self.prefix else key

    @retry_transient
    def list(self, prefix: str = "") -> list[str]:
        return sorted(self._iter_keys(prefix))

    @retry_transient
    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._k(key))


def open_store(settings: StoreSettings) -> ObjectStore:
    """The store configured by ``settings.uri`` (``file://`` or ``s3://``)."""
    parsed = urlparse(settings.uri)
    if parsed.scheme == "file":
        return LocalStore(Path(parsed.path))
    if parsed.scheme == "s3":
        return S3Store(settings.uri, settings.s3_endpoint_url, settings.s3_region)
    if not parsed.scheme:
        return LocalStore(Path(settings.uri))
    raise ValueError(f"unsupported store uri scheme {parsed.scheme!r} in {settings.uri}")


def open_uri(uri: str, settings: StoreSettings | None = None) -> tuple[ObjectStore, str]:
    """Split an absolute object URI into (store rooted at its parent, key).

    ``s3://bucket/a/b/c`` → (S3Store(``s3://bucket``), ``a/b/c``);
    ``file:///x/y/z`` → (LocalStore(``/``), ``x/y/z``).
    """
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        endpoint = settings.s3_endpoint_url if settings else None
        region = settings.s3_region if settings else "us-east-1"
        return S3Store(f"s3://{parsed.netloc}", endpoint, region), parsed.path.strip("/")
    if parsed.scheme in ("file", ""):
        return LocalStore("/"), parsed.path.strip("/")
    raise ValueError(f"unsupported uri scheme {parsed.scheme!r}: {uri}")


def fetch_file(uri: str, dest: str | Path, settings: StoreSettings | None = None) -> Path:
    """A local file holding the object at ``uri`` (the one-file twin of :func:`fetch_dir`).

    A plain path or ``file://`` file is used in place (no copy); anything else is
    downloaded to the file path ``dest``. Raises:
        FileNotFoundError: no file at ``uri``.
    """
    if not urlparse(uri).scheme:
        path = Path(uri).expanduser().resolve()
    else:
        store, key = open_uri(uri, settings)
        local = store.local_path(key)
        if local is None:
            if not store.exists(key):
                raise FileNotFoundError(f"no file at {uri}")
            return store.get_file(key, dest)
        path = local
    if not path.is_file():
        raise FileNotFoundError(f"no file at {uri}")
    return path


def fetch_dir(uri: str, dest: str | Path, settings: StoreSettings | None = None) -> Path:
    """A local directory holding the objects under ``uri``.

    A plain path or ``file://`` directory is used in place (no copy; a plain path is
    not turned into a URI, so names with ``%`` or spaces stay as they are); anything
    else is downloaded into ``dest``. Raises:
        FileNotFoundError: nothing exists under ``uri``.
    """
    if not urlparse(uri).scheme:
        path = Path(uri).expanduser().resolve()
        if not path.is_dir():
            raise FileNotFoundError(f"no directory at {uri}")
        return path
    store, key = open_uri(uri, settings)
    local = store.local_path(key)
    if local is not None and local.is_dir():
        return local
    return store.get_dir(key, dest)
