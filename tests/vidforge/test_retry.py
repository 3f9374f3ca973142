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
