"""The records of the registry: :class:`PanelSpec` (an image the app shows) and
:class:`MethodSpec` (something ``Params.methods`` asks for), and the display kinds.

:mod:`deconv_gui.core.registry` holds the one list of each and the lookups by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .choices import check_choice
from .methods import Stage

__all__ = ["DISPLAY_KINDS", "MethodSpec", "PanelSpec", "make_method", "make_panel"]

#: How a panel is drawn: ``input`` and ``forward`` on their own range, ``adjoint``
#: (not in image units: auto levels, diverging when signed), ``reconstruction`` (in
#: image units: clipped to the input's range or auto) and ``signed`` (symmetric
#: levels around 0 with a diverging colormap).
DISPLAY_KINDS: tuple[str, ...] = ("input", "forward", "adjoint", "reconstruction", "signed")


@dataclass(frozen=True)
class PanelSpec:
    """One image the app shows and exports.

    Attributes
    ----------
    name : str
        The one spelling: the window's panel, ``Params.methods`` entries, ``--methods``.
    title : str
        The panel's title (with its formula).
    formula : str
        The formula alone, as in the read-out and the metrics table (``"A⁺(y − b)"``).
    text : str
        One line saying what the panel is (the panel's subtitle).
    short : str
        A few characters for the cursor read-out (``"A⁺"``).
    method : str or None
        The method of :data:`METHOD_SPECS` that computes it (None: always computed).
    display : str
        One of :data:`DISPLAY_KINDS`.
    own_levels : bool
        Not in image units: never drawn with the input's shared levels.
    linked : bool
        Image-sized: zoom and pan are linked with the input.
    export_name : str
        The file stem of its exported files (``forward_output.npy``).
    scored : bool
        A reconstruction of the input: scored (PSNR, SSIM, residual) in the metrics.
    with_activation : str
        The formula when the layer has an activation (``Params.activation``): the
        linear panels use its local map ``J = D A`` and ``c = D b`` ("": unchanged).
    without_activation : str
        The formula when it has none, where it differs ("": unchanged).
    """

    name: str
    title: str
    formula: str
    text: str
    short: str
    method: str | None
    display: str
    own_levels: bool = False
    linked: bool = True
    export_name: str = ""
    scored: bool = False
    with_activation: str = ""
    without_activation: str = ""

    def __post_init__(self) -> None:
        check_choice("display", self.display, DISPLAY_KINDS)
        if not self.export_name:
            object.__setattr__(self, "export_name", self.name)

    @property
    def attribute(self) -> str:
        """The :class:`~deconv_gui.core.Result` attribute holding the array.

        The panel's name, but for the input (``image``) and the forward output
        (``forward_output``); :meth:`~deconv_gui.core.Result.panel` takes the name.
        """
        return _ATTRIBUTES.get(self.name, self.name)

    def title_for(self, activation: str) -> str:
        """The title with the formula for a layer with ``activation`` (``"none"``, …)."""
        formula = self.with_activation if activation != "none" else self.without_activation
        if not formula:
            return self.title
        return f"{self.title.split('  ')[0]}  {formula}"

    @property
    def row_label(self) -> str:
        """The metrics table's row label: ``"pseudo-inverse  A⁺(y − b)"``."""
        return f"{self.title.split('  ')[0].lower()}  {self.formula}"

    def row_label_for(self, activation: str) -> str:
        """:attr:`row_label` with the formula for a layer with ``activation``."""
        title = self.title_for(activation)
        return f"{title.split('  ')[0].lower()}  {title.partition('  ')[2]}"


@dataclass(frozen=True)
class MethodSpec:
    """Something ``Params.methods`` can ask for.

    Attributes
    ----------
    name : str
        The method's name (``Params.methods``, ``--methods``).
    label : str
        The window's checkbox text.
    tip : str
        What it computes, in one or two sentences (tooltip, ``--help``).
    panels : tuple of str
        The panels (:data:`PANELS` names) it fills.
    reconstruction : bool
        A reconstruction of the image (one checkbox in the window's options); else an
        insight (the lost-information panels, switched on by the Insight menu).
    compute : callable
        ``compute(stage)``, from :mod:`deconv_gui.core.methods`: fills ``stage.images``
        (by panel name) and ``stage.reports``.
    prior : bool
        A reconstruction with a prior: its image has a null-space part the prior
        invented (the split shows the first prior computed, in registry order).
    summary : str
        How the code dialog names it ("" for a method the scripts do not reproduce).
    api : str
        The :mod:`deconv_gui.core` function the NumPy script with the package calls.
    saved : tuple of (str, str)
        What the scripts save for it: ``(name in the .npz, script variable)``; the
        name is a panel name.
    slow : bool
        Computed after the cheap methods (an iterative solve, or a decoder read from a
        file): :func:`~deconv_gui.core.run_pipeline` hands the caller a partial result
        without it first (``on_partial``), so the window shows the cheap panels at once.
    """

    name: str
    label: str
    tip: str
    panels: tuple[str, ...]
    reconstruction: bool
    compute: Callable[[Stage], None]
    prior: bool = False
    summary: str = ""
    api: str = ""
    saved: tuple[tuple[str, str], ...] = ()
    slow: bool = False


def make_panel(
    name: str,
    heading: str,
    formula: str,
    text: str,
    short: str,
    method: str | None,
    display: str,
    **options: Any,
) -> PanelSpec:
    """A :class:`PanelSpec` titled ``heading`` and ``formula``, two spaces apart."""
    title = f"{heading}  {formula}"
    return PanelSpec(name, title, formula, text, short, method, display, **options)


def make_method(
    name: str,
    label: str,
    tip: str,
    *,
    compute: Callable[[Stage], None],
    insight: bool = False,
    panels: tuple[str, ...] = (),
    prior: bool = False,
    slow: bool = False,
    saved_as: str = "",
    saved: tuple[tuple[str, str], ...] = (),
    **options: Any,
) -> MethodSpec:
    """A :class:`MethodSpec` with the registry's defaults spelt once.

    It fills its own panel unless ``panels`` says otherwise; ``insight`` marks a method
    that is no reconstruction; a prior is an iterative solve, so it is ``slow``;
    ``saved_as`` is the script variable saved under the method's own panel name
    (``saved`` lists several).
    """
    return MethodSpec(
        name,
        label,
        tip,
        panels or (name,),
        not insight,
        compute,
        prior=prior,
        slow=slow or prior,
        saved=saved or (((name, saved_as),) if saved_as else ()),
        **options,
    )


#: The :class:`~deconv_gui.core.Result` attributes of the panels that are not their names.
_ATTRIBUTES = {"input": "image", "forward": "forward_output"}
