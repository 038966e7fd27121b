import pytest

from cli_helpers import TOY_ALGORITHM, write_distribution


@pytest.fixture(scope="module")
def toy_plugin_module(tmp_path_factory):
    """The toy algorithm plugin (as the `toy_plugin` fixture), installed once per module."""
    return write_distribution(tmp_path_factory.mktemp("site"), "rlforge-toy", {"toy": "toy_algo.plugin"}, TOY_ALGORITHM)
