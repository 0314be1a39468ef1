"""The one plugin manager: built-ins, entry-point plugins and component lookups.

Built-in components are plugins like any other (``DEFAULT_PLUGINS``). Third-party packages add
``[project.entry-points.mezoo] name = "module"``; set ``MEZOO_LOAD_PLUGINS`` to a comma-separated
list of entry-point or distribution names to load only those (an empty value loads none).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pluggy

from mezoo import hookspecs
from mezoo.errors import ConfigError, DuplicateComponentError, MezooWarning, PluginError, UnknownComponentError

ENTRY_POINT_GROUP = "mezoo"

DEFAULT_PLUGINS = (
    "mezoo.default_plugins.displacements",
    "mezoo.default_plugins.fusions",
    "mezoo.default_plugins.datasets",
    "mezoo.default_plugins.augmentations",
    "mezoo.default_plugins.executors",
    "mezoo.default_plugins.classical",
    "mezoo.default_plugins.models",
)

#: component kind -> the collector hook that registers it
COMPONENT_HOOKS = {
    "displacement": "register_displacements",
    "fusion": "register_fusions",
    "dataset": "register_datasets",
    "augmentation": "register_augmentations",
    "apex_spotter": "register_apex_spotters",
    "interpolator": "register_interpolators",
    "executor": "register_executors",
    "features": "register_features",
    "classifier": "register_classifiers",
    "model": "register_models",
}

pm = pluggy.PluginManager("mezoo")
pm.add_hookspecs(hookspecs)

_loaded = False
_distributions: dict[str, tuple[str, str]] = {}  # plugin name -> (distribution, version)


@dataclass(frozen=True)
class Registration:
    """One registered component: its name, what was registered and the plugin that did it.

    ``target`` is the object itself, or a ``"package.module:Attribute"`` string imported on
    first use (:attr:`obj`), so that listing components (``mezoo plugins``, ``mezoo datasets
    list``) imports no model code.
    """

    kind: str
    name: str
    target: Any
    plugin: str

    @property
    def obj(self) -> Any:
        """The registered object, imported now if it was registered by its import path.

        Raises:
            PluginError: the path does not import or does not name an attribute of its module.
        """
        if not isinstance(self.target, str):
            return self.target
        return _import_target(self.target, self)


def _import_target(path: str, reg: Registration) -> Any:
    module_name, _, attribute = path.partition(":")
    where = f"{reg.kind} {reg.name!r} of plugin {reg.plugin!r} is registered as {path!r}"
    if not attribute:
        raise PluginError(f"{where}: give 'package.module:Attribute'; fix or uninstall the plugin")
    try:
        module = importlib.import_module(module_name)  # once: Python keeps it in sys.modules
    except Exception as exc:
        raise PluginError(f"{where}, which failed to import ({type(exc).__name__}: {exc}); fix or "
                          f"uninstall the plugin, or set MEZOO_LOAD_PLUGINS to the plugins you want") from exc
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise PluginError(f"{where}, but {module_name} has no {attribute!r}; fix or uninstall the plugin") from None


def normalize_name(name: str) -> str:
    """Registry names are snake_case; ``Fu-B-Attn`` and ``fu_b_attn`` are the same name."""
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def load_plugins() -> pluggy.PluginManager:
    """Register the built-ins and the entry-point plugins, once, and return the manager."""
    global _loaded
    if _loaded:
        return pm
    _loaded = True
    for module_name in DEFAULT_PLUGINS:
        if pm.get_plugin(module_name) is None:
            pm.register(importlib.import_module(module_name), name=module_name)
    _load_entry_points()
    _skip_unknown_hooks()
    return pm


def _register(plugin: Any, name: str, origin: str) -> bool:
    """Register a third-party plugin; one whose hooks pluggy refuses is named, skipped and warned
    about, so that it cannot break every command."""
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        warnings.warn(f"plugin {name!r} ({origin}) skipped: {exc}; fix or uninstall it", MezooWarning, stacklevel=2)
        return False
    return True


def _skip_unknown_hooks() -> None:
    # pluggy's check_pending raises for the first implementation of a hook mezoo does not define
    # (a misspelled name); here every such plugin is named, warned about and unregistered.
    hookspec_names = {name for name in dir(hookspecs) if name.startswith("register_")}
    for plugin in list(pm.get_plugins()):
        name = pm.get_name(plugin)
        unknown = sorted(caller.name for caller in pm.get_hookcallers(plugin) or []
                         if not caller.has_spec() and caller.name not in hookspec_names)
        if unknown:
            pm.unregister(plugin)
            _distributions.pop(name, None)
            warnings.warn(f"plugin {name!r} skipped: it implements {', '.join(unknown)}, which mezoo has no hook "
                          f"for; mezoo's hooks are {', '.join(sorted(hookspec_names))}; fix or uninstall it",
                          MezooWarning, stacklevel=2)


def _load_entry_points() -> None:
    # Done by hand rather than with pm.load_setuptools_entrypoints so that a plugin that fails to
    # import is named in the error, and MEZOO_LOAD_PLUGINS can select by entry-point or
    # distribution name.
    setting = os.environ.get("MEZOO_LOAD_PLUGINS")
    allowed = None if setting is None else {s.strip() for s in setting.split(",") if s.strip()}
    matched: set[str] = set()
    for dist in importlib.metadata.distributions():
        dist_name = dist.metadata["Name"]
        for ep in dist.entry_points:
            if ep.group != ENTRY_POINT_GROUP:
                continue
            if allowed is not None and ep.name not in allowed and dist_name not in allowed:
                continue
            matched.update({ep.name, dist_name})
            if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"plugin {ep.name!r} from distribution {dist_name} {dist.version} failed to "
                    f"load ({type(exc).__name__}: {exc}); fix or uninstall it, or set "
                    f"MEZOO_LOAD_PLUGINS to the plugins you want"
                ) from exc
            if _register(plugin, ep.name, f"distribution {dist_name} {dist.version}"):
                _distributions[ep.name] = (dist_name, dist.version)
    missing = sorted((allowed or set()) - matched)
    if missing:
        warnings.warn(f"MEZOO_LOAD_PLUGINS names {', '.join(map(repr, missing))}, but no installed plugin (entry "
                      f"point or distribution in group {ENTRY_POINT_GROUP!r}) has that name; see `mezoo plugins`",
                      MezooWarning, stacklevel=2)


def registrations(kind: str) -> dict[str, Registration]:
    """All components of ``kind`` (a key of ``COMPONENT_HOOKS``) by name.

    Raises:
        DuplicateComponentError: two plugins registered the same name.
        PluginError: a plugin raised while registering.
    """
    load_plugins()
    found: dict[str, Registration] = {}
    hook = getattr(pm.hook, COMPONENT_HOOKS[kind])
    for impl in hook.get_hookimpls():

        def register(obj: Any, name: str, _plugin: str = impl.plugin_name) -> None:
            key = normalize_name(name)
            if key in found:
                raise DuplicateComponentError(
                    f"{kind} name {key!r} is registered by two plugins: {found[key].plugin!r} and "
                    f"{_plugin!r}; uninstall one of them or disable it with MEZOO_LOAD_PLUGINS"
                )
            found[key] = Registration(kind, key, obj, _plugin)

        try:
            impl.function(register)
        except DuplicateComponentError:
            raise
        except Exception as exc:
            raise PluginError(
                f"plugin {impl.plugin_name!r} raised in {hook.name}: {type(exc).__name__}: {exc}"
            ) from exc
    return found


def names(kind: str) -> list[str]:
    """The sorted names of every registered component of ``kind``."""
    return sorted(registrations(kind))


def get(kind: str, name: str) -> Any:
    """The component of ``kind`` registered as ``name`` (normalised).

    Raises:
        UnknownComponentError: no plugin registered that name; the message lists the valid ones.
    """
    found = registrations(kind)
    try:
        return found[normalize_name(name)].obj
    except KeyError:
        raise UnknownComponentError(kind, name, found) from None


def plugin_info(include_builtin: bool = False) -> list[dict[str, Any]]:
    """One dict per plugin: name, distribution, version, whether built in, hooks, components."""
    from mezoo import __version__

    load_plugins()
    by_plugin: dict[str, dict[str, list[str]]] = {}
    for kind in COMPONENT_HOOKS:
        for reg in registrations(kind).values():
            by_plugin.setdefault(reg.plugin, {}).setdefault(kind, []).append(reg.name)
    infos = []
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin)
        builtin = name in DEFAULT_PLUGINS
        if builtin and not include_builtin:
            continue
        if builtin:
            dist, dist_version = "mezoo", __version__
        else:
            dist, dist_version = _distributions.get(name, (None, None))
        infos.append(
            {
                "name": name,
                "distribution": dist,
                "version": dist_version,
                "builtin": builtin,
                "hooks": sorted(h.name for h in pm.get_hookcallers(plugin) or []),
                "components": {k: sorted(v) for k, v in by_plugin.get(name, {}).items()},
            }
        )
    return sorted(infos, key=lambda info: (not info["builtin"], info["name"]))


def check_options(factory: Callable[..., Any], label: str, options: Mapping[str, Any],
                  given_by_caller: Iterable[str] = ()) -> None:
    """Check that ``factory`` takes every keyword of ``options`` (without calling it).

    ``given_by_caller``: arguments mezoo passes itself (``in_channels`` of a fusion head), which
    a user may not set.

    Raises:
        ConfigError: naming the option(s) not taken and listing the valid ones.
    """
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return
    own = set(given_by_caller)
    valid = sorted(n for n, p in params.items() if n != "self" and n not in own
                   and p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD))
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = sorted(k for k in options if k in own or (not takes_any and k not in params))
    if unknown:
        raise ConfigError(f"{label} has no option {', '.join(map(repr, unknown))}; valid options: "
                          f"{', '.join(valid) or '(none)'}")


def make(kind: str, name: str, **kwargs: Any) -> Any:
    """Build the component ``name`` of ``kind`` with keyword options, naming bad options clearly."""
    factory: Callable[..., Any] = get(kind, name)
    check_options(factory, f"{kind} {normalize_name(name)!r}", kwargs)
    return factory(**kwargs)
