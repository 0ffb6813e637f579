"""Vendor control of an array (tuning, on-chip DOA, LEDs) behind one small protocol.

A profile names its control chip (``control = "xvf3000"`` in its TOML); :data:`CONTROLS`
maps that name to the class implementing :class:`Control`, so the command line and
``arraykit.live`` never branch on a chip or a product id. A new control chip is one
file implementing :class:`Control` plus one entry in :data:`CONTROLS`.

LED actions are data too: each control class lists them in ``LED_ACTIONS`` (action
name -> method and argument kinds), and :meth:`Control.led` runs one from the words
a user typed.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol, Self

from arraykit import _validate as v
from arraykit.hardware._backend import DeviceNotFoundError
from arraykit.hardware.discovery import match_profile
from arraykit.hardware.profiles import Profile, list_profiles, load_profile

__all__ = [
    "CONTROLS",
    "Control",
    "LedAction",
    "Parameter",
    "control_for",
    "led_help",
    "open_control",
]

CONTROLS: dict[str, str] = {
    "xvf3000": "arraykit.hardware.xvf:XVF3000",
    "xvf3800": "arraykit.hardware.xvf:XVF3800",
}
"""Profile ``control`` name -> ``module:class`` implementing :class:`Control`."""


@dataclass(frozen=True)
class Parameter:
    """One control parameter: where it lives and what it accepts.

    ``resid`` is the resource id (wIndex); ``cmd`` the offset (XVF-3000) or
    command id (XVF3800); ``type`` its encoding; ``access`` ``"ro"``, ``"rw"`` or
    ``"wo"``; ``count`` the number of values; ``min``/``max`` the accepted range.
    """

    name: str
    resid: int
    cmd: int
    type: str
    access: str
    min: float | None = None
    max: float | None = None
    count: int = 1
    doc: str = ""

    def describe(self) -> str:
        rng = "" if self.min is None else f" [{_num(self.min)}..{_num(self.max)}]"
        n = "" if self.count == 1 else f"{self.count}x"
        return f"{self.name:<32} {n}{self.type:<6} {self.access}{rng}  {self.doc}"


def _num(x: float | None) -> str:
    return "" if x is None else (str(int(x)) if float(x).is_integer() else repr(x))


ArgKind = Literal["int", "float", "word", "rgb"]
"""How an LED action reads its words: a whole number, a number, a word (a name or a
whole number), or three whole numbers R G B."""

_WORDS = {"int": 1, "float": 1, "word": 1, "rgb": 3}


@dataclass(frozen=True)
class LedAction:
    """One LED action: the control method it calls and the kinds of its arguments."""

    method: str
    args: tuple[ArgKind, ...] = ()

    @property
    def n_words(self) -> int:
        return sum(_WORDS[a] for a in self.args)

    def parse(self, name: str, words: Sequence[str]) -> list[Any]:
        """The method's arguments from the words typed (a clear error for a wrong count)."""
        if len(words) != self.n_words:
            raise v.fail("args", list(words), f"'led {name}' takes {self.n_words} argument(s)")
        out: list[Any] = []
        it = iter(words)
        for kind in self.args:
            if kind == "rgb":
                out.append([_whole(next(it)) for _ in range(3)])
            elif kind == "int":
                out.append(_whole(next(it)))
            elif kind == "float":
                out.append(_number(next(it)))
            else:
                w = next(it)
                out.append(int(w) if w.isdigit() else w)
        return out


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise v.fail("value", text, "must be a whole number") from None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise v.fail("value", text, "must be a number") from None


class Control(Protocol):
    """A vendor control interface (a context manager releasing the USB device)."""

    profile: Profile
    PARAMETERS: ClassVar[Mapping[str, Parameter]]
    LED_ACTIONS: ClassVar[Mapping[str, LedAction]]

    def parameter(self, name: str) -> Parameter:
        """The parameter called `name` (case-insensitive)."""
        ...

    def read(self, name: str) -> Any:
        """Read a parameter."""
        ...

    def write(self, name: str, value: Any) -> None:
        """Write a parameter (range-checked before anything is sent)."""
        ...

    def onchip_azimuth(self) -> float:
        """The device's own DOA in arraykit's azimuth frame (profile orientation)."""
        ...

    def led(self, action: str, words: Sequence[str]) -> None:
        """Run LED action `action` (a key of ``LED_ACTIONS``) with the words typed."""
        ...

    def led_point(self, azimuth: float) -> None:
        """Light the LED nearest `azimuth` (arraykit's frame)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


def run_led(ctl: Control, action: str, words: Sequence[str]) -> None:
    """Look `action` up in ``ctl.LED_ACTIONS`` and call its method (the shared ``led``)."""
    key = str(action).lower()
    spec = ctl.LED_ACTIONS.get(key)
    if spec is None:
        raise v.fail("action", action, f"unknown LED action; valid: {' '.join(ctl.LED_ACTIONS)}")
    getattr(ctl, spec.method)(*spec.parse(key, words))


_SHOW = {"int": "N", "float": "X", "word": "NAME", "rgb": "R G B"}


def led_help() -> str:
    """The LED actions of every control chip, for ``arraykit led --help``."""
    parts = []
    for name in CONTROLS:
        acts = _control_class(name).LED_ACTIONS
        shown = " | ".join(
            " ".join([a, *(_SHOW[k] for k in spec.args)]) for a, spec in acts.items()
        )
        parts.append(f"{name}: {shown}.")
    return " ".join(parts)


def _control_class(name: str) -> Any:
    module, _, cls = CONTROLS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def profiles_with_control() -> list[str]:
    """The profiles whose chip has a USB vendor control (tuning, LEDs, on-chip DOA)."""
    return [n for n in list_profiles() if load_profile(n).control in CONTROLS]


def control_for(profile: str | Profile, device: Any = None, *, backend: Any = None) -> Control:
    """The vendor-control object for a profile's chip (ValueError if it has none)."""
    p = load_profile(profile)
    if p.control not in CONTROLS:
        known = ", ".join(profiles_with_control())
        raise v.fail("device", p.name, f"has no USB vendor control; devices with one: {known}")
    ctl: Control = _control_class(p.control)(device, backend=backend, profile=p)
    return ctl


def open_control(spec: str, *, backend: Any = None) -> Control:
    """The control for what a user typed: a profile name, a device name or ``vvvv:pppp``."""
    if spec.startswith("sim:"):  # a simulated array has microphones but no chip to talk to
        raise DeviceNotFoundError(
            f"--device {spec!r} is simulated: it has no control chip to tune or light; "
            f"connect the array and give its profile (--device {spec[4:]})"
        )
    with_control = profiles_with_control()
    if re.fullmatch(r"[0-9a-fA-F]{4}:[0-9a-fA-F]{4}", spec):
        vid, pid = (int(x, 16) for x in spec.split(":"))
        for name in with_control:
            p = load_profile(name)
            if (p.vendor_id, p.product_id) == (vid, pid):
                return control_for(p, spec, backend=backend)
        raise DeviceNotFoundError(
            f"--device {spec}: no profile with vendor control has this USB id; known: "
            + ", ".join(
                f"{n} ({load_profile(n).vendor_id:04x}:{load_profile(n).product_id:04x})"
                for n in with_control
            )
        )
    profile = load_profile(spec) if spec in list_profiles() else match_profile(spec)
    if profile is None:
        raise DeviceNotFoundError(
            f"--device {spec!r} matches no profile; arrays with USB control: "
            + ", ".join(f"{n} ({load_profile(n).control})" for n in with_control)
        )
    return control_for(profile, backend=backend)
