import pytest


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/*.cpp from the current code generator")
    parser.addoption("--fuzz-long", action="store_true", default=False,
                     help="run the long profile of the differential fuzzer (thousands of programs; "
                          "also STAGE_FUZZ_PROGRAMS=N)")


@pytest.fixture
def update_golden(request):
    return request.config.getoption("--update-golden")
