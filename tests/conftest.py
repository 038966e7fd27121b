import pytest

from cli_helpers import TOY_ALGORITHM, write_distribution


@pytest.fixture
def plugin_dir(tmp_path):
    """A folder on which tests write throwaway distributions (see write_distribution)."""
    return tmp_path / "site"


@pytest.fixture
def toy_plugin(plugin_dir):
    """PYTHONPATH entry holding the installed toy algorithm plugin (distribution rlforge-toy)."""
    return write_distribution(plugin_dir, "rlforge-toy", {"toy": "toy_algo.plugin"}, TOY_ALGORITHM)
