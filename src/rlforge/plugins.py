"""The plugin manager: finds `rlforge` entry points and builds the registry from their hooks.

Each entry point is loaded and registered on its own. A plugin that fails to import or to
register (an exception, a `sys.exit` or a KeyboardInterrupt raised by its code, a name another
plugin registered first, a command that would replace another's) is recorded with its error,
naming both sides of a conflict, and dropped; everything else keeps working. Set
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
from rlforge.registry import AlgorithmSpec, EnvSpec, PluginInfo, Registry, TrackerSpec

ENTRY_POINT_GROUP = "rlforge"
BUILTIN_NAME = "builtin"
REGISTRATION_HOOKS = ("register_algorithms", "register_envs", "register_trackers")


# What a plugin's code may raise at import or registration, including what would otherwise
# end the process (sys.exit, a KeyboardInterrupt raised by the plugin itself).
PLUGIN_FAILURES = (Exception, SystemExit, KeyboardInterrupt)


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
            except PLUGIN_FAILURES as exc:  # a broken plugin must not break the others
                self._record_failure(ep.name, info, exc)

    def _register_specs(self, module, info: PluginInfo) -> None:
        """Call this plugin's registration hooks; keep its specs only if all succeed."""
        algorithms: list[AlgorithmSpec] = []
        envs: list[EnvSpec] = []
        trackers: list[TrackerSpec] = []
        for hook_name, collected in zip(REGISTRATION_HOOKS, (algorithms, envs, trackers)):
            function = getattr(module, hook_name, None)
            if function is not None:
                function(register=collected.append)
        for spec in algorithms + envs + trackers:
            spec.plugin, spec.version = info.distribution, info.version
        for hook_name, specs, kind in zip(REGISTRATION_HOOKS, (algorithms, envs, trackers),
                                          (AlgorithmSpec, EnvSpec, TrackerSpec)):
            for spec in specs:
                if not isinstance(spec, kind):
                    article = "an" if kind.__name__[0] in "AEIOU" else "a"
                    raise PluginError(f"{hook_name} got {spec!r}, not {article} {kind.__name__}")
        # all or nothing: a plugin whose names clash keeps none (the first to claim a name keeps it)
        for table, specs, kind, key in ((self.registry.algorithms, algorithms, "algorithm", "name"),
                                        (self.registry.envs, envs, "env", "id"),
                                        (self.registry.trackers, trackers, "tracker", "name")):
            names = [getattr(spec, key) for spec in specs]
            for name in names:
                if name in table:
                    raise PluginError(f"{kind} {name!r} is registered by both {table[name].plugin!r} and "
                                      f"{info.distribution!r}; {info.distribution!r} is not loaded (choose with "
                                      "RLFORGE_LOAD_PLUGINS)")
            if len(set(names)) != len(names):
                raise PluginError(f"registers {kind} {sorted(n for n in names if names.count(n) > 1)[0]!r} twice")
        for spec in algorithms:
            self.registry.add_algorithm(spec)
        for spec in envs:
            self.registry.add_env(spec)
        for spec in trackers:
            self.registry.add_tracker(spec)

    def _record_failure(self, name: str, info: PluginInfo, exc: BaseException) -> None:
        if _strict():
            raise PluginError(f"plugin {name!r} ({info.distribution}) failed: {_one_line(exc)}") from None
        info.status, info.error = "failed", _one_line(exc)
        plugin = self.pm.get_plugin(name)
        if plugin is not None and self.pm.is_registered(plugin):
            self.pm.unregister(name=name)

    def add_commands(self, cli) -> None:
        """Every plugin's register_commands, one at a time: a plugin that raises, or that would
        replace a command another plugin added first, is recorded as failed and its commands
        are taken back; the others' commands stay."""
        infos = {info.name: info for info in self.registry.plugins}
        for impl in self.pm.hook.register_commands.get_hookimpls():  # registration order: the built-in first
            before = dict(cli.commands)
            try:
                impl.function(cli=cli)
                replaced = sorted(name for name, command in before.items() if cli.commands.get(name) is not command)
                if replaced:
                    owner = "rlforge" if replaced[0] in _builtin_commands(before) else "another plugin"
                    raise PluginError(f"command {replaced[0]!r} is already registered by {owner}")
            except PLUGIN_FAILURES as exc:
                cli.commands.clear()
                cli.commands.update(before)
                info = infos.get(impl.plugin_name)
                if info is None or info.name == BUILTIN_NAME or _strict():
                    raise PluginError(f"plugin {impl.plugin_name!r} failed in register_commands: {_one_line(exc)}") from None
                info.status, info.error = "failed", f"register_commands: {_one_line(exc)}"


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


def _builtin_commands(commands: dict) -> set[str]:
    return {name for name, command in commands.items() if (command.callback.__module__ or "").startswith("rlforge.")}


@functools.lru_cache(maxsize=1)
def get_host() -> PluginHost:
    """The process-wide plugin host, built on first use."""
    return PluginHost()


def get_registry() -> Registry:
    return get_host().registry


def reset() -> None:
    """Forget the loaded plugins (tests change the environment variables and reload)."""
    get_host.cache_clear()
