"""The core's one calling convention, checked on the signatures of its whole public API.

Every public function of ``deconv_gui.core`` that takes a geometry keyword takes all of
them (or an operator only); convenience functions return one type whatever their
keywords; the type aliases and report types exist once.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import warnings

import numpy as np
import pytest

import deconv_gui.core as core

GEOMETRY_KEYWORDS = ("stride", "padding", "dilation", "padding_mode", "groups", "flip")

#: Public functions that take ``stride`` but are not a convolution geometry, with why.
NOT_A_GEOMETRY = {
    # one axis of integer size arithmetic: padding mode, groups and flip change no size
    "deconv_gui.core.arguments.output_size",
    "deconv_gui.core.arguments.resolve_padding",
    "deconv_gui.core.arguments.same_padding",
    "deconv_gui.core.arguments.transpose_input_shape",
    "deconv_gui.core.sizes.matching_input_sizes",
    # the seed question's own loop, as written: its cache has only ``s``
    "deconv_gui.core.analysis.question.question_deconv",
    "deconv_gui.core.analysis.second_guess.question_inverse_check",
    # how a stride folds frequencies: no filter at all
    "deconv_gui.core.analysis.fourier.alias_order",
    # the fitted decoder is its own ConvTranspose2d: the fit chooses its padding
    "deconv_gui.core.decoder.Decoder",
    "deconv_gui.core.decoder.decoder_geometry",
    "deconv_gui.core.decoder.fit_decoder",
    "deconv_gui.core.decoder.normal_equations",
    "deconv_gui.core.decoder.solve_decoder",
    # pooling windows: no weights, so no groups, flip or padding mode
    "deconv_gui.core.network.layers.AvgPool",
    "deconv_gui.core.network.layers.MaxPool",
}
#: Geometry functions that still take only part of the geometry (a transposed layer's
#: per-phase taps); the list may only shrink.
PENDING: set[str] = set()


def _public_callables():
    """``(qualified name, callable)`` of every public function and method of the core."""
    seen = set()
    for info in pkgutil.walk_packages(core.__path__, "deconv_gui.core."):
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            members = [obj]
            if inspect.isclass(obj):
                members += [
                    getattr(obj, attr)
                    for attr in vars(obj)
                    if not attr.startswith("_") and callable(getattr(obj, attr))
                ]
            for member in members:
                if not callable(member):
                    continue
                key = f"{getattr(member, '__module__', '')}.{getattr(member, '__qualname__', name)}"
                if key not in seen:
                    seen.add(key)
                    yield key, member


def _parameters(func):
    try:
        return inspect.signature(func).parameters
    except (TypeError, ValueError):
        return {}


def test_every_public_function_with_a_stride_takes_the_whole_geometry():
    checked, missing = 0, {}
    for name, func in _public_callables():
        parameters = _parameters(func)
        if "stride" not in parameters or name in NOT_A_GEOMETRY | PENDING:
            continue
        checked += 1
        lacking = [k for k in GEOMETRY_KEYWORDS if k not in parameters]
        if lacking:
            missing[name] = lacking
    assert not missing, f"functions lacking geometry keywords: {missing}"
    names = {name for name, _ in _public_callables()}
    assert (NOT_A_GEOMETRY | PENDING) <= names  # no stale entries
    assert checked >= 20  # the walk found the API (a broken walk would pass vacuously)


def test_hyper_and_the_report_types_are_defined_once():
    sources = {
        info.name: inspect.getsource(importlib.import_module(info.name))
        for info in pkgutil.walk_packages(core.__path__, "deconv_gui.core.")
    }
    hyper = [name for name, text in sources.items() if "\nHyper = " in text]
    assert hyper == ["deconv_gui.core.geometry"]
    reports = [
        f"{name}.{match}"
        for name, text in sources.items()
        for match in re.findall(r"^class (\w*Report)\b", text, flags=re.M)
    ]
    assert reports == ["deconv_gui.core.solvers.base.SolverReport"]


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    w = np.abs(rng.standard_normal((3, 3, 2, 2)))
    op = core.ConvOperator.from_weights(w, input_shape=(9, 9, 2), stride=2, padding=1)
    return op, op.apply(rng.random((9, 9, 2)))


@pytest.mark.parametrize(
    "func, options",
    [
        (core.pinv_reconstruction, {}),
        (core.tv_reconstruction, {"lam": 1e-3, "max_iter": 5}),
        (core.nonneg_reconstruction, {"max_iter": 5}),
        (core.richardson_lucy, {"n_iter": 3}),
    ],
)
def test_reconstructions_return_one_type_and_the_old_keyword_warns(problem, func, options):
    op, y = problem
    result = func(y, op, **options)
    assert isinstance(result, core.Reconstruction)
    assert isinstance(result.report, core.SolverReport)
    assert result.image.shape == op.geometry.input_shape
    with pytest.warns(DeprecationWarning, match="return_report"):
        image = func(y, op, return_report=False, **options)
    np.testing.assert_array_equal(image, result.image)
    with pytest.warns(DeprecationWarning, match="return_report"):
        again = func(y, op, return_report=True, **options)
    assert isinstance(again, core.Reconstruction)


def test_convenience_geometry_keywords_agree_with_the_operator():
    """groups and flip given loosely build the same operator; a disagreement is refused."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((3, 3, 1, 4))
    x = rng.random((8, 8, 2))
    y = core.conv2d(x, w, stride=2, padding=1, groups=2, flip=True, padding_mode="reflect")
    keywords = {"stride": 2, "padding": 1, "groups": 2, "flip": True, "padding_mode": "reflect"}
    op = core.ConvOperator.from_weights(w, input_shape=x.shape, **keywords)
    loose = core.pinv_reconstruction(y, w, input_shape=x.shape, **keywords).image
    np.testing.assert_allclose(loose, core.pinv_reconstruction(y, op).image, atol=1e-10)
    np.testing.assert_allclose(
        core.transposed_reconstruction(y, w, input_shape=x.shape, **keywords), op.apply_adjoint(y)
    )
    with pytest.raises(ValueError, match="groups"):
        core.as_operator(op, x.shape, groups=4)
    plain = core.ConvOperator.from_weights(w, input_shape=x.shape, stride=2, groups=2)
    with pytest.raises(ValueError, match="flip"):
        core.as_operator(plain, flip=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert core.as_operator(op, x.shape, **keywords) is op


@pytest.mark.parametrize(
    "func, options",
    [
        (core.pinv_reconstruction, {"method": "iterative", "max_iter": 3}),
        (core.tv_reconstruction, {"lam": 1e-3, "max_iter": 3}),
        (core.nonneg_reconstruction, {"max_iter": 3}),
        (core.richardson_lucy, {"n_iter": 3}),
    ],
)
def test_reconstructions_show_and_check_their_shared_keywords(problem, func, options):
    """The keywords declared once (problem, monitor) are in the signature; a typo is refused."""
    parameters = inspect.signature(func).parameters
    for name in ("input_shape", *GEOMETRY_KEYWORDS, "callbacks", "progress", "cancel"):
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, name
    op, y = problem
    with pytest.raises(TypeError, match="'strid'"):
        func(y, op, strid=2, **options)
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # three iterations do not converge
        func(y, op, progress=lambda k, r: seen.append(k), **options)
    assert seen  # the monitor's keyword reached the solver


@pytest.mark.parametrize(
    ("keywords", "name"),
    [
        ({"size": float("nan")}, "size"),
        ({"size": (1.5, 2)}, "size"),
        ({"size": (3,)}, "size"),
        ({"size": 0}, "size"),
        ({"in_channels": "3"}, "in_channels"),
        ({"in_channels": True}, "in_channels"),
        ({"out_channels": 2.0}, "out_channels"),
        ({"out_channels": 17}, "out_channels"),
        ({"seed": "a"}, "seed"),
        ({"seed": -1}, "seed"),
    ],
)
def test_make_filter_names_a_bad_argument_in_a_value_error(keywords, name):
    """A float size, a str seed or count raised numpy's TypeError, and a negative seed
    numpy's 'expected non-negative integer' that named nothing."""
    with pytest.raises(ValueError, match=rf"^{name} must be an int"):
        core.make_filter("random", **keywords)


def test_make_filter_takes_numpy_ints_and_pairs():
    w = core.make_filter("random", size=np.array([3, 5]), in_channels=np.int64(2), seed=np.int64(4))
    assert w.shape == (3, 5, 2, 1)
    assert np.array_equal(w, core.make_filter("random", size=(3, 5), in_channels=2, seed=4))
