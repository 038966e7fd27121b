"""The plugin manager: finds `rlforge` entry points and builds the registry from their hooks.

Each entry point is loaded and registered on its own. A plugin that fails to import or to
register is recorded with its error and dropped; everything else keeps working. Set
RLFORGE_STRICT_PLUGINS=1 to make such a failure fatal, and RLFORGE_LOAD_PLUGINS=a,b to load
only the named entry points (an empty value loads none but the built-in plugin).
"""

from __future__ import annotations

import functools
import os
from importlib.metadata import entry_points

import pluggy

from rlforge import __version__, builtin, hookspecs
from rlforge.errors import PluginError
from rlforge.registry import AlgorithmSpec, EnvSpec, PluginInfo, Registry

ENTRY_POINT_GROUP = "rlforge"
BUILTIN_NAME = "builtin"
REGISTRATION_HOOKS = ("register_algorithms", "register_envs")


def _strict() -> bool:
    return os.environ.get("RLFORGE_STRICT_PLUGINS", "") not in ("", "0", "false", "no")


def _allowed_names() -> set[str] | None:
    """The entry point names RLFORGE_LOAD_PLUGINS allows, or None for all."""
    value = os.environ.get("RLFORGE_LOAD_PLUGINS")
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _hook_names(pm: pluggy.PluginManager, plugin) -> list[str]:
    return sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])


class PluginHost:
    """The pluggy manager plus the registry built from the loaded plugins."""

    def __init__(self):
        self.pm = pluggy.PluginManager("rlforge")
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry()
        self._load_builtin()
        self._load_entry_points()

    @property
    def hook(self) -> "IsolatedHooks":
        return IsolatedHooks(self.pm)

    def _load_builtin(self) -> None:
        self.pm.register(builtin, name=BUILTIN_NAME)
        info = PluginInfo(BUILTIN_NAME, "rlforge", __version__, _hook_names(self.pm, builtin))
        self._register_specs(builtin, info)
        self.registry.plugins.append(info)

    def _load_entry_points(self) -> None:
        allowed = _allowed_names()
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if allowed is not None and ep.name not in allowed:
                continue
            dist = ep.dist.name if ep.dist else "?"
            version = ep.dist.version if ep.dist else "?"
            info = PluginInfo(ep.name, dist, version)
            self.registry.plugins.append(info)
            try:
                module = ep.load()
                self.pm.register(module, name=ep.name)
                info.hooks = _hook_names(self.pm, module)
                self._register_specs(module, info)
            except Exception as exc:  # a broken plugin must not break the others
                self._record_failure(ep.name, info, exc)

    def _register_specs(self, module, info: PluginInfo) -> None:
        """Call this plugin's registration hooks; keep its specs only if all succeed."""
        algorithms: list[AlgorithmSpec] = []
        envs: list[EnvSpec] = []
        for hook_name, collected in zip(REGISTRATION_HOOKS, (algorithms, envs)):
            function = getattr(module, hook_name, None)
            if function is not None:
                function(register=collected.append)
        for spec in algorithms + envs:
            spec.plugin, spec.version = info.distribution, info.version
        for spec in algorithms:
            if not isinstance(spec, AlgorithmSpec):
                raise PluginError(f"register_algorithms got {spec!r}, not an AlgorithmSpec")
        for spec in envs:
            if not isinstance(spec, EnvSpec):
                raise PluginError(f"register_envs got {spec!r}, not an EnvSpec")
        for spec in algorithms:
            self.registry.add_algorithm(spec)
        for spec in envs:
            self.registry.add_env(spec)

    def _record_failure(self, name: str, info: PluginInfo, exc: Exception) -> None:
        if isinstance(exc, PluginError) and "registered by both" in str(exc):
            raise exc  # a name conflict is always fatal: which one would the user get?
        if _strict():
            raise PluginError(f"plugin {name!r} ({info.distribution}) failed: {_one_line(exc)}") from exc
        info.status, info.error = "failed", _one_line(exc)
        if self.pm.is_registered(self.pm.get_plugin(name)):
            self.pm.unregister(name=name)


class IsolatedHooks:
    """Calls a hook's implementations one at a time, so an exception names the plugin that raised it."""

    def __init__(self, pm: pluggy.PluginManager):
        self._pm = pm

    def __getattr__(self, hook_name: str):
        caller = getattr(self._pm.hook, hook_name)

        def call(**kwargs):
            results = []
            for impl in reversed(caller.get_hookimpls()):  # pluggy's own calling order
                try:
                    result = impl.function(**{name: kwargs[name] for name in impl.argnames})
                except Exception as exc:
                    raise PluginError(f"plugin {impl.plugin_name!r} raised in {hook_name}: {_one_line(exc)}") from exc
                if result is not None:
                    results.append(result)
            return results

        return call


@functools.lru_cache(maxsize=1)
def get_host() -> PluginHost:
    """The process-wide plugin host, built on first use."""
    return PluginHost()


def get_registry() -> Registry:
    return get_host().registry


def reset() -> None:
    """Forget the loaded plugins (tests change the environment variables and reload)."""
    get_host.cache_clear()
