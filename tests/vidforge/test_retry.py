import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from vidforge.retry import is_transient, retry_transient


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")


def test_transient_errors_are_retried_then_succeed() -> None:
    calls = []

    @retry_transient(attempts=3, base_delay_s=0.001)
    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _client_error("SlowDown", 503)
        return "ok"

    assert flaky() == "ok" and len(calls) == 3


def test_permanent_errors_raise_at_once() -> None:
    calls = []

    @retry_transient(attempts=5, base_delay_s=0.001)
    def missing() -> None:
        calls.append(1)
        raise _client_error("NoSuchKey", 404)

    with pytest.raises(ClientError):
        missing()
    assert len(calls) == 1


def test_gives_up_after_attempts() -> None:
    calls = []

    @retry_transient(attempts=2, base_delay_s=0.001)
    def down() -> None:
        calls.append(1)
        raise ConnectionError("refused")

    with pytest.raises(ConnectionError):
        down()
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (TimeoutError(), True),
        (ValueError("bad input"), False),
        (_client_error("InternalError", 500), True),
        (_client_error("AccessDenied", 403), False),
    ],
)
def test_classification(exc: BaseException, expected: bool) -> None:
    assert is_transient(exc) is expected


def _api_exception(status: int | None) -> Exception:
    from kubernetes.client.exceptions import ApiException

    return ApiException(status=status, reason="injected")


@pytest.mark.parametrize(("status", "expected"), [
    (429, True), (500, True), (502, True), (503, True), (504, True), (0, True), (None, True),
    (400, False), (401, False), (403, False), (404, False), (409, False), (422, False), (501, False),
])
def test_kubernetes_api_statuses(status: int | None, expected: bool) -> None:
    pytest.importorskip("kubernetes")
    assert is_transient(_api_exception(status)) is expected


def test_kubernetes_api_subclasses_and_lookalikes() -> None:
    exceptions = pytest.importorskip("kubernetes.client.exceptions")
    assert is_transient(exceptions.ServiceException(status=503, reason="unavailable"))
    assert not is_transient(exceptions.NotFoundException(status=404, reason="gone"))

    class ApiException(Exception):  # noqa: N818 - the same name as the Kubernetes client's class
        status = 503

    assert not is_transient(ApiException())


def test_urllib3_connection_failures_are_transient() -> None:
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    assert is_transient(ProtocolError("Connection aborted."))
    assert is_transient(ReadTimeoutError(None, "/api/v1/pods", "read timed out"))


def test_throttled_kubernetes_call_is_retried() -> None:
    pytest.importorskip("kubernetes")
    statuses = [429, 503]

    @retry_transient(attempts=3, base_delay_s=0.001)
    def create() -> str:
        if statuses:
            raise _api_exception(statuses.pop(0))
        return "created"

    assert create() == "created" and statuses == []


def test_importing_retry_does_not_import_kubernetes() -> None:
    code = "import sys, vidforge.retry; sys.exit('kubernetes' in sys.modules or 'urllib3' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
