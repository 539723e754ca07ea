r"""Optimisers over an image: one driver for Adam and L-BFGS, used by the Gatys method.

``ImageOptimizer(value_fn, ...)`` minimises ``value_fn(x, targets) -> scalar`` over the image
``x``; ``init(x, targets) -> state`` and ``step(x, state, targets) -> (x, state, value)``.

* ``adam``: `optax.adam`, one jitted step.
* ``lbfgs`` with ``linesearch="zoom"``: stock `optax.lbfgs` with its zoom line search, the whole
  step jitted (the VGG19 passes run inside the line search's ``lax.while_loop``).  With the
  windowed-max pooling and autodiff Gram this project used at first, XLA:CPU ran those passes
  several times slower inside the loop than outside it; with the current VGG19 code (reshape
  pooling, written-out Gram gradient) the loop costs nothing extra (``results/profile_xla_cpu``).
* ``lbfgs`` with ``linesearch="backtracking"`` (the default): the same `optax.lbfgs` direction
  (two-loop recursion, ``linesearch=None``) and an Armijo backtracking line search driven from
  Python, so every VGG pass is a plain jitted call.  L-BFGS directions are well scaled, so the
  unit step is accepted almost always: one forward+backward per step.  Where no halving of the step
  lowers the objective at all, the history restarts from a normalised steepest-descent step, so the
  objective never rises from one step to the next.
* ``lbfgs`` with ``linesearch="none"``: torch's ``optim.lbfgs`` as neural-style (Johnson's Gatys code,
  the closest published code to Johnson et al. 2016's Fig. 5 baseline) runs it: unit steps with no line
  search, curvature pairs with :math:`s^\top y \le 10^{-10}` left out of the history (optax keeps them,
  and a negative pair can turn its direction uphill), the initial inverse Hessian
  :math:`s^\top y / y^\top y` of the newest kept pair (the identity before one is kept), and a first step
  of one grey level in L1 length.  Steps that depend on the pixel unit (the first, and any taken with the
  identity) are converted from neural-style's 0-255 scale.  The objective is used as given: torch's
  curvature threshold and stopping test are absolute, so they act as in the reference code only where
  the objective has its units (a recipe's ``paper_scale``, `nst.recipes`).
  The objective may rise from one step to the next, as in torch.  See `torch_lbfgs_direction`.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..core.vgg import CAFFE_PIXEL_SCALE
from ..errors import NSTError

OPTIMIZERS = ("lbfgs", "adam")
LINESEARCHES = ("backtracking", "zoom", "none")

#: torch optim.lbfgs: a pair (s, y) joins the history only if s·y exceeds this (``if ys > 1e-10``)
TORCH_MIN_CURVATURE = 1e-10
#: neural-style passes tolX = -1 to optim.lbfgs, which stops when g·d > -tolX = 1 (no descent left)
TORCH_MAX_SLOPE = 1.0
#: neural-style's images are on the Caffe 0-255 scale; ours on 0-1. torch's first step,
#: t = min(1, 1/‖g‖₁) along -g, and its H0 = I are taken in that scale
NEURAL_STYLE_PIXEL_SCALE = CAFFE_PIXEL_SCALE


def torch_lbfgs_direction(grad: jax.Array, s_mem: jax.Array, y_mem: jax.Array, rho: jax.Array,
                          head: jax.Array, count: jax.Array, hdiag: jax.Array) -> jax.Array:
    r"""The L-BFGS direction :math:`d = -H g` by the two-loop recursion (Nocedal & Wright, Alg. 7.4).

    The history is a ring: ``s_mem[i], y_mem[i]`` with ``rho[i] = 1 / (s_i^\top y_i)``, the newest at
    ``head - 1``, ``count`` pairs in all; :math:`H_0 = ` ``hdiag`` × I.  With ``count = 0`` this is
    ``-hdiag * grad``.  As torch's ``optim.lbfgs`` computes it.
    """
    memory = s_mem.shape[0]

    def newest_first(j, carry):
        q, alphas = carry
        i = (head - 1 - j) % memory
        alpha = jnp.where(j < count, rho[i] * jnp.vdot(s_mem[i], q), 0.0)
        return q - alpha * y_mem[i], alphas.at[i].set(alpha)

    q, alphas = jax.lax.fori_loop(0, memory, newest_first, (-grad, jnp.zeros(memory, grad.dtype)))

    def oldest_first(j, r):
        i = (head - 1 - (memory - 1 - j)) % memory
        beta = rho[i] * jnp.vdot(y_mem[i], r)
        return r + jnp.where(memory - 1 - j < count, alphas[i] - beta, 0.0) * s_mem[i]

    return jax.lax.fori_loop(0, memory, oldest_first, q * hdiag)


def torch_lbfgs_remember(s: jax.Array, y: jax.Array, s_mem: jax.Array, y_mem: jax.Array, rho: jax.Array,
                         head: jax.Array, count: jax.Array, hdiag: jax.Array):
    r"""Add the pair (s, y) to the ring if its curvature ``s·y`` exceeds `TORCH_MIN_CURVATURE`, as torch
    does, and take :math:`H_0 = s^\top y / y^\top y` from it; otherwise leave everything as it was."""
    ys = jnp.vdot(y, s)
    keep = ys > TORCH_MIN_CURVATURE
    memory = s_mem.shape[0]
    s_mem = s_mem.at[head].set(jnp.where(keep, s, s_mem[head]))
    y_mem = y_mem.at[head].set(jnp.where(keep, y, y_mem[head]))
    rho = rho.at[head].set(jnp.where(keep, 1.0 / jnp.where(keep, ys, 1.0), rho[head]))
    hdiag = jnp.where(keep, ys / jnp.vdot(y, y), hdiag)
    head = jnp.where(keep, (head + 1) % memory, head)
    count = jnp.where(keep, jnp.minimum(count + 1, memory), count)
    return s_mem, y_mem, rho, head, count, hdiag

#: ``value_fn(x, targets)``: the scalar objective of an image x (1, H, W, 3)
ValueFn = Callable[[jax.Array, Any], jax.Array]


class ImageOptimizer:
    """Uniform driver over the three optimisers (see the module docstring)."""

    ARMIJO_C1 = 1e-4  # sufficient-decrease constant (Nocedal & Wright, ch. 3: "c1 = 1e-4")
    MAX_BACKTRACK = 20

    def __init__(self, value_fn: ValueFn, optimizer: str = "lbfgs", learning_rate: float = 0.02,
                 lbfgs_memory: int = 10, linesearch: str = "backtracking"):
        if optimizer not in OPTIMIZERS:
            raise NSTError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {optimizer!r}")
        if linesearch not in LINESEARCHES:
            raise NSTError(f"linesearch must be one of {', '.join(LINESEARCHES)}, not {linesearch!r}")
        self.optimizer, self.linesearch = optimizer, linesearch
        self._vg = jax.jit(jax.value_and_grad(value_fn))
        if optimizer == "adam":
            self.opt = optax.adam(learning_rate)

            def adam_step(x, state, targets):
                value, grad = jax.value_and_grad(value_fn)(x, targets)
                updates, state = self.opt.update(grad, state, x)
                return optax.apply_updates(x, updates), state, value

            self._step = jax.jit(adam_step)
        elif linesearch == "zoom":
            self.opt = optax.lbfgs(memory_size=lbfgs_memory)

            def zoom_step(x, state, targets):
                fn = lambda y: value_fn(y, targets)  # noqa: E731 - the line search needs f(x) alone
                value, grad = optax.value_and_grad_from_state(fn)(x, state=state)
                updates, state = self.opt.update(grad, state, x, value=value, grad=grad, value_fn=fn)
                return optax.apply_updates(x, updates), state, value

            self._step = jax.jit(zoom_step)
        elif linesearch == "none":
            self.memory = lbfgs_memory

            def next_direction(x, x_prev, grad, g_prev, history):
                history = torch_lbfgs_remember(x - x_prev, grad - g_prev, *history)
                d = torch_lbfgs_direction(grad, *history)
                return d, jnp.vdot(grad, d), history

            # the history is donated: its ring buffers (memory × image each) are updated in place, not copied
            self._torch_next = jax.jit(next_direction, donate_argnames="history")
            self._step = self._torch_lbfgs_step
        else:
            self.opt = optax.lbfgs(memory_size=lbfgs_memory, linesearch=None)

            def direction(x, grad, state):
                d, state = self.opt.update(grad, state, x)
                return d, jnp.vdot(grad, d), state, x + d

            # Two programs, the direction and the objective, so the objective (the expensive one,
            # which holds the activations) is compiled once and shared with `init`.
            self._direction = jax.jit(direction)
            self._step = self._host_lbfgs_step

    @property
    def host_line_search(self) -> bool:
        return self.optimizer == "lbfgs" and self.linesearch == "backtracking"

    def init(self, x: jax.Array, targets: Any) -> Any:
        if self.optimizer == "lbfgs" and self.linesearch == "none":
            value, grad = self._vg(x, targets)
            ring = (self.memory,) + x.shape
            # torch's H0 = I until a pair is kept, on neural-style's 0-255 scale: I / P² on ours
            # (two buffers for s and y: the history is donated, and a buffer cannot be donated twice)
            history = (jnp.zeros(ring, x.dtype), jnp.zeros(ring, x.dtype), jnp.zeros(self.memory, x.dtype),
                       jnp.asarray(0), jnp.asarray(0), jnp.asarray(1.0 / NEURAL_STYLE_PIXEL_SCALE ** 2, x.dtype))
            # (history, previous point, previous gradient, value, gradient, iterations done, stopped)
            return (history, x, grad, value, grad, 0, False)
        state = self.opt.init(x)
        if self.host_line_search:
            value, grad = self._vg(x, targets)
            return (state, value, grad)
        return state

    def step(self, x: jax.Array, state: Any, targets: Any) -> tuple[jax.Array, Any, jax.Array]:
        return self._step(x, state, targets)

    def _host_lbfgs_step(self, x, carry, targets):
        state, value, grad = carry
        d, slope, state, x1 = self._direction(x, grad, state)
        f0, slope = float(value), float(slope)
        if slope >= 0:
            # Not a descent direction (optax keeps pairs of negative curvature, which torch and SciPy leave
            # out): fall back to steepest descent.  The first trial is the step of unit length; if Armijo
            # refuses it, the halvings run along the raw gradient from half its length, so this is a
            # backtracking search from a long step (on a flat start it accepts steps far longer than one).
            d, slope = -grad, -float(jnp.vdot(grad, grad))
            x1 = x + d * (1.0 / max(1.0, float(jnp.linalg.norm(grad))))
        found, x1, v1, g1 = self._backtrack(x, x1, d, f0, slope, targets)
        if not found and not float(v1) < f0:
            # After MAX_BACKTRACK halvings the L-BFGS direction still does not go down at all (a last trial
            # that is merely lower without Armijo's sufficient decrease is kept, as always): its curvature
            # pairs mislead (seen from a flat start, init="mean_pixel_noise", on small images). Restart the
            # history, as L-BFGS codes do after a failed line search, and try the normalised steepest-descent
            # step; where even that does not go down, stay put rather than accept a worse point.
            state = self.opt.init(x)
            d, slope = self._steepest(grad)
            found, x1, v1, g1 = self._backtrack(x, x + d, d, f0, slope, targets)
            if not found and not float(v1) < f0:
                x1, v1, g1 = x, value, grad
        return x1, (state, v1, g1), v1

    def _torch_lbfgs_step(self, x, carry, targets):
        """One iteration of torch's ``optim.lbfgs`` with neural-style's settings (module docstring)."""
        history, x_prev, g_prev, value, grad, done, stopped = carry
        if stopped:
            return x, carry, value
        if done == 0:
            # torch: d = -g, t = min(1, 1/‖g‖₁) in neural-style's 0-255 scale; converted to ours
            # (x = x₂₅₅ / P, g = P g₂₅₅) that is -g · min(1, P/‖g‖₁) / P²
            scale = NEURAL_STYLE_PIXEL_SCALE
            d = -grad * (min(1.0, scale / float(jnp.sum(jnp.abs(grad)))) / scale ** 2)
            slope = float(jnp.vdot(grad, d))
        else:
            d, slope, history = self._torch_next(x, x_prev, grad, g_prev, history)
            slope = float(slope)
        if slope > TORCH_MAX_SLOPE:  # torch breaks out of its loop: no further step is taken
            return x, (history, x_prev, g_prev, value, grad, done, True), value
        x1 = x + d
        v1, g1 = self._vg(x1, targets)
        return x1, (history, x, grad, v1, g1, done + 1, False), v1

    @staticmethod
    def _steepest(grad):
        """Steepest descent scaled to at most unit length, and its slope."""
        norm = float(jnp.linalg.norm(grad))
        d = -grad * (1.0 / max(1.0, norm))
        return d, float(jnp.vdot(grad, d))

    def _backtrack(self, x, x1, d, f0, slope, targets):
        """Armijo backtracking from the trial ``x1``, then along ``x + t d`` for t = 1/2, 1/4, …:
        (found, point, value, gradient)."""
        t = 1.0
        v1, g1 = self._vg(x1, targets)
        for _ in range(self.MAX_BACKTRACK):
            if np.isfinite(float(v1)) and float(v1) <= f0 + self.ARMIJO_C1 * t * slope:
                return True, x1, v1, g1
            t *= 0.5
            x1 = x + t * d
            v1, g1 = self._vg(x1, targets)
        return bool(np.isfinite(float(v1)) and float(v1) <= f0 + self.ARMIJO_C1 * t * slope), x1, v1, g1
