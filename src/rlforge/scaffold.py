"""`rlforge plugin new NAME [--template KIND]`: write a ready-to-install algorithm plugin distribution.

The files come from rlforge/templates/plugin/ (plain text, read with importlib.resources): the
files every plugin has, in common/, then those of the chosen template (onpolicy/, offpolicy/
or offline/), with these placeholders replaced:

  __NAME__             the algorithm name, e.g. "myalgo"
  __DIST__             the distribution (and folder) name, "rlforge-myalgo"
  __PACKAGE__          the import package, "rlforge_myalgo" (also a path segment: PACKAGE)
  __CLASS__            the class-name prefix, "Myalgo"
  __DESCRIPTION__      what the template's algorithm is, in a few words
  __RLFORGE_VERSION__  the rlforge version the plugin needs at least (this one's major.minor)

Template files end in ".tmpl", so neither Python nor pytest mistakes them for code.
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import rlforge
from rlforge.errors import RLForgeError

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
MAX_NAME_LENGTH = 40
TEMPLATE_SUFFIX = ".tmpl"


@dataclass(frozen=True)
class Template:
    description: str  # what the algorithm is, in a few words
    env: str  # the env of its shipped preset, used in the suggested first run
    first_run: str  # options of the suggested first `rlforge train` beside --algo and --env
    prepare: str = ""  # a command to run before it, with {package} for the import package


TEMPLATES = {
    "onpolicy": Template("REINFORCE with reward-to-go", "CartPole-v1", "--steps 2000"),
    "offpolicy": Template("a DDPG-style actor-critic over a replay buffer", "Pendulum-v1", "--steps 5000"),
    "offline": Template("filtered behaviour cloning from a dataset", "CartPole-v1",
                        "--set dataset=cartpole.npz", prepare="python -m {package}.demo_data cartpole.npz"),
}
DEFAULT_TEMPLATE = "onpolicy"


def validate_name(name: str) -> None:
    """Refuse a NAME that cannot be an algorithm name and a Python package suffix."""
    if not NAME_PATTERN.fullmatch(name or "") or len(name) > MAX_NAME_LENGTH:
        raise RLForgeError(f"plugin name {name!r} is not valid: use lowercase letters, digits and underscores, "
                           f"starting with a letter, at most {MAX_NAME_LENGTH} characters (e.g. 'myalgo')")
    if keyword.iskeyword(name) or name.endswith("_") or "__" in name:
        raise RLForgeError(f"plugin name {name!r} is not valid: it must not be a Python keyword, end with '_' "
                           "or contain '__'")


def template(kind: str) -> Template:
    try:
        return TEMPLATES[kind]
    except KeyError:
        raise RLForgeError(f"no plugin template {kind!r}; choose from {', '.join(TEMPLATES)}") from None


def placeholders(name: str, kind: str = DEFAULT_TEMPLATE) -> dict[str, str]:
    major_minor = ".".join(rlforge.__version__.split(".")[:2])
    return {
        "__NAME__": name,
        "__DIST__": f"rlforge-{name}",
        "__PACKAGE__": f"rlforge_{name}",
        "__CLASS__": "".join(part.capitalize() for part in name.split("_")),
        "__DESCRIPTION__": template(kind).description,
        "__RLFORGE_VERSION__": major_minor if major_minor[0].isdigit() else "0.1",
    }


def _substitute(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def _walk(folder, prefix: str = ""):
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        path = f"{prefix}{entry.name}"
        if entry.is_dir():
            if entry.name != "__pycache__":
                yield from _walk(entry, path + "/")
        elif entry.name.endswith(TEMPLATE_SUFFIX):
            yield path, entry


def render(name: str, kind: str = DEFAULT_TEMPLATE) -> dict[str, str]:
    """{relative path: file text} of the plugin distribution for algorithm `name` from template `kind`."""
    validate_name(name)
    values = placeholders(name, kind)
    root = resources.files("rlforge") / "templates" / "plugin"
    files = {}
    for folder in ("common", kind):  # the template's own files replace common ones of the same path
        for path, entry in _walk(root / folder):
            target = path[: -len(TEMPLATE_SUFFIX)].replace("PACKAGE", values["__PACKAGE__"])
            files[target] = _substitute(entry.read_text(encoding="utf-8"), values)
    return dict(sorted(files.items()))


def installed_algorithm(name: str) -> str | None:
    """The distribution that already registers algorithm `name`, if one is installed."""
    from rlforge.plugins import get_registry

    spec = get_registry().algorithms.get(name)
    return spec.plugin if spec is not None else None


def create(name: str, directory: str | os.PathLike = ".", check_installed: bool = True,
           kind: str = DEFAULT_TEMPLATE) -> Path:
    """Write the distribution `rlforge-NAME/` from template `kind` into `directory`; returns its path.

    Refuses (RLForgeError) an invalid name or template, a name an installed plugin already
    registers, and a target folder that exists. Files are written into a temporary folder
    first and moved into place, so a failure leaves nothing half-written behind.
    """
    validate_name(name)
    template(kind)
    parent = Path(directory)
    target = parent / placeholders(name)["__DIST__"]
    if target.exists() or target.is_symlink():
        raise RLForgeError(f"{str(target)!r} already exists; not overwriting it (pick another name or --dir)")
    if check_installed:
        owner = installed_algorithm(name)
        if owner is not None:
            raise RLForgeError(f"an algorithm named {name!r} is already installed (from {owner}); pick another name")
    if parent.exists() and not parent.is_dir():
        raise RLForgeError(f"--dir {str(parent)!r} is not a folder")
    files = render(name, kind)
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=parent))
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        staging.chmod(0o755)
        os.rename(staging, target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise RLForgeError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
