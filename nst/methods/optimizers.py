"""Optimisers over an image: one driver for Adam and L-BFGS, used by the Gatys method.

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
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..errors import NSTError

OPTIMIZERS = ("lbfgs", "adam")
LINESEARCHES = ("backtracking", "zoom")

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
        if slope >= 0:  # not a descent direction (numerical trouble): fall back to steepest descent
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
