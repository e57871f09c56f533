"""Checks of notebook 09's exercises: the DCGAN."""

import itertools

import numpy as np
from keras import Input, layers, ops

from .core import Wrong, _compare, _np, exercise

F32 = "float32"


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(np.asarray(x, np.float64) / 2))  # no overflow far from 0


def _softplus(x):
    return np.logaddexp(0.0, np.asarray(x, np.float64))


def _sp(x):  # the mean softplus
    return np.mean(_softplus(x))


def _gradient(fn, *args):
    """The gradient of the scalar fn(*args) with respect to each argument, on the backend
    the lesson trains with (None on another backend); Wrong when it cannot be taken."""
    import keras

    tensors = [ops.convert_to_tensor(a) for a in args]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(tensors)
            loss = fn(*tensors)
        grads = tape.gradient(loss, tensors) if tf.is_tensor(loss) else [None]
    elif backend == "jax":
        import jax

        try:
            grads = jax.grad(fn, argnums=tuple(range(len(tensors))))(*tensors)
        except Exception as err:  # ran on arrays above: it cannot be traced (NumPy inside)
            raise Wrong(
                f"the loss cannot be differentiated ({type(err).__name__}): compute it with "
                f"keras.ops, not NumPy, so that minimize can take its gradient"
            ) from None
    else:
        return None
    if any(g is None for g in grads):
        raise Wrong(
            "the loss has no gradient with respect to the logits: compute it with "
            "keras.ops (not NumPy, not float()), so that minimize can take its gradient"
        )
    return [_np(g) for g in grads]


_NEAR = tuple(
    np.random.default_rng(s).normal(0, 3, (k, 1)).astype(F32) for s, k in ((0, 6), (1, 4))
)
_FAR = tuple(  # |ℓ| ≫ 1: σ(ℓ) rounds
    np.array(v, F32)[:, None] for v in ([-120, -40, -25, 3, 30, 60], [-110, -20, 25, 90])
)


def _check_loss(fn, logits, names, want, gradients, mistakes) -> None:
    """fn(*logits) against `want` and its gradient against `gradients`, near 0 then far
    from 0; `mistakes(*logits)`: {message: value of a usual wrong formula}."""
    for far, args in enumerate(logits):
        got = fn(*(ops.convert_to_tensor(a) for a in args))
        if got is None:
            raise Wrong("the function returned None (a `return` is missing)")
        got = _np(got)
        if got.shape != ():
            raise Wrong(f"the loss has shape {got.shape}: average it over the batch (ops.mean)")
        expected = want(*args)
        shown = ", ".join(f"{v:g}" for a in args for v in a[:, 0])
        if far and not np.isfinite(got):
            raise Wrong(
                f"the loss is {float(got)} for logits far from 0 ({shown}): σ(ℓ) rounds, its log "
                f"is −inf: write −log σ(ℓ) as ops.softplus(−ℓ), −log(1 − σ(ℓ)) as ops.softplus(ℓ)"
            )
        if not np.isclose(got, expected, rtol=1e-4, atol=1e-5):
            if far:
                raise Wrong(
                    f"the loss is {float(got):.6g} for logits far from 0 ({shown}), expected "
                    f"{expected:.6g} (right near 0, so a rounded sigmoid, an epsilon in the log "
                    f"or an approximation): use ops.softplus"
                )
            why = next(
                (f" ({m})" for m, v in mistakes(*args).items() if np.isclose(got, v, rtol=1e-4)), ""
            )
            raise Wrong(f"the loss is {float(got):.6g}, expected {expected:.6g}{why}")
        for g, w, name in zip(_gradient(fn, *args) or [], gradients(*args), names):
            where = " (logits far from 0)" if far else ""
            _compare(g, w, f"the gradient of the loss with respect to {name}{where}", atol=1e-6)


@exercise(
    "With D = σ(ℓ): −log σ(ℓ) = softplus(−ℓ) and −log(1 − σ(ℓ)) = softplus(ℓ). "
    "return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits)): "
    "each batch averaged on its own."
)
def discriminator_loss(fn) -> None:
    """`fn(real_logits, fake_logits)`: −mean log D(x) − mean log(1 − D(G(z))), D = σ(logit)."""

    def want(r, f):
        return _sp(-r) + _sp(f)

    def mistakes(r, f):
        return {
            "real and fake swapped: D should say 1 for real images, 0 for fakes": _sp(r) + _sp(-f),
            "summed over the batch: average with ops.mean": len(r) * _sp(-r) + len(f) * _sp(f),
            "one mean over both batches: average each on its own, then add": np.mean(
                np.r_[_softplus(-r), _softplus(f)]
            ),
            "wrong sign: D minimises −log D(x) − log(1 − D(G(z))), a positive loss": -want(r, f),
            "only the real images' term: add softplus(fake_logits), averaged": _sp(-r),
            "only the fakes' term: add softplus(−real_logits), averaged": _sp(f),
        }

    def grads(r, f):
        return [(_sigmoid(r) - 1) / len(r), _sigmoid(f) / len(f)]

    _check_loss(fn, [_NEAR, _FAR], ("real_logits", "fake_logits"), want, grads, mistakes)


@exercise(
    "The non-saturating loss: −log D(G(z)) = softplus(−ℓ) of the fake images' logits, "
    "averaged over the batch: return ops.mean(ops.softplus(-fake_logits))."
)
def generator_loss(fn) -> None:
    """`fn(fake_logits)`: the non-saturating −mean log D(G(z)), D = σ(logit)."""

    def mistakes(f):
        return {
            "that is the saturating log(1 − D(G(z))); minimise −log D(G(z)) instead": -_sp(f),
            "that trains G to make D say fake: G's fakes aim at D = 1, softplus(−ℓ)": _sp(f),
            "summed over the batch: average it with ops.mean": len(f) * _sp(-f),
            "wrong sign: minimise −log D(G(z)), a positive loss": -_sp(-f),
        }

    def grads(f):
        return [(_sigmoid(f) - 1) / len(f)]

    _check_loss(fn, [_NEAR[1:], _FAR[1:]], ("fake_logits",), lambda f: _sp(-f), grads, mistakes)


# --- GAN theory on a 1-D grid: the optimal discriminator D* and the value V(D, G) ----------

_X, _DX = np.linspace(-6, 9, 1501, retstep=True)  # dx = 0.01: forgetting it is a factor 100


def _pdf(mean, std):  # a Gaussian density on the grid, normalised: Σ p·dx = 1
    p = np.exp(-0.5 * ((_X - mean) / std) ** 2)
    return p / (p.sum() * _DX)


def _against(got, want, what, mistakes) -> None:
    """`got` against `want`, naming the first usual mistake {message: value} that it equals."""
    if got is not None and _np(got).shape == np.shape(want):
        close = [np.allclose(_np(got), v, rtol=1e-4, atol=1e-7) for v in (want, *mistakes.values())]
        why = [m for m, c in zip(mistakes, close[1:]) if c and not close[0]]
        if why:
            raise Wrong(f"{what}: {why[0]}")
    _compare(got, want, what, atol=1e-7)


@exercise(
    "For a fixed G, each x maximises p_data·log D + p_g·log(1 − D) at "
    "D*(x) = p_data(x) / (p_data(x) + p_g(x)): return p_data / (p_data + p_g)."
)
def optimal_discriminator(fn) -> None:
    """`fn(p_data, p_g)`: D* on a grid, for two Gaussians apart, then for p_g = p_data."""
    for p, q in ((_pdf(0, 1), _pdf(1.5, 1.2)), (_pdf(1, 2), _pdf(1, 2))):
        _against(
            fn(p.copy(), q.copy()),
            p / (p + q),
            "D*" + (" for p_g = p_data" if np.array_equal(p, q) else ""),
            {
                "p_g on top: D* is the probability of real, p_data / (p_data + p_g)": q / (p + q),
                "the denominator is p_data + p_g, not p_g alone": p / q,
                "p_data / p_data + p_g is 1 + p_g: put the sum in parentheses": 1 + q,
                "1/2 everywhere holds only at the equilibrium, p_g = p_data": 0 * p + 0.5,
                "a 0/1 decision; D* is a probability, p_data / (p_data + p_g)": 1.0 * (p > q),
            },
        )


@exercise(
    "V(D, G) = ∫ p_data(x)·ln D(x) + p_g(x)·ln(1 − D(x)) dx, a sum times dx on the grid: "
    "return np.sum(p_data * np.log(d) + p_g * np.log(1 - d)) * dx."
)
def gan_value(fn) -> None:
    """`fn(d, p_data, p_g, dx)`: V(D, G) for some D, for D*, then at the equilibrium (−log 4)."""
    p, q = _pdf(0, 1), _pdf(1.5, 1.2)

    def v(d, a, b, log=np.log):
        return np.sum(a * log(d) + b * log(1 - d)) * _DX

    for d, a, b in ((_sigmoid(1 - _X), p, q), (p / (p + q), p, q), (0 * p + 0.5, p, p)):
        want = v(d, a, b)
        _against(
            fn(d.copy(), a.copy(), b.copy(), _DX),
            want,
            "V(D, G)" + (" at the equilibrium (−log 4)" if a is b else ""),
            {
                "log base 10: V uses the natural log, np.log": v(d, a, b, np.log10),
                "the generator's term, p_g·log(1 − D), is missing": v(d, a, 0 * b),
                "the data's term, p_data·log D, is missing": v(d, 0 * a, b),
                "wrong sign: V is what D maximises, a sum of logs of probabilities, ≤ 0": -want,
                "not multiplied by dx: on the grid, ∫ f dx ≈ Σ f(x)·dx": want / _DX,
                "a mean over the grid is not the integral: Σ f(x)·dx": want / _DX / len(d),
                "p_data weighs log D and p_g weighs log(1 − D): they are swapped": v(d, b, a),
            },
        )


# --- gan: one step of fit on linear networks, against the same step worked out in NumPy ---

_LABELS = {  # how L_D treats real_label a: message of each way but the right one
    "right": "",
    "ignored": "the real images' target is 1, not real_label: with target a, L_D gains "
    "(1 − a)·mean(real_logits) (binary cross-entropy with target a)",
    "half": "with target a a real image's loss is a·softplus(−ℓ) + (1 − a)·softplus(ℓ): the "
    "(1 − a)·softplus(ℓ) term is missing",
    "fakes": "the smoothing is one-sided: only the real images aim at a, the fakes still at 0",
}
_STEP_MISTAKES = {
    "steps": "D took 1 step per batch, not d_steps = {d_steps}: loop over range(self.d_steps)",
    "saturating": "G minimised the saturating log(1 − D(G(z))): use generator_loss, −log D(G(z))",
    "g_first": "G was updated before D: first the d_steps D steps, then G's step through the new D",
    "g_noise": "G's step reused the noise of a D step: draw a fresh z for G",
    "d_noise": "the D steps reused one noise batch: draw a new z for each D step",
}


def _step(w, real, Z, a, lr, d_z, g_z, label="right", saturating=False, g_first=False):
    """NumPy: D's steps on noise Z[d_z[i]], G's on Z[g_z], SGD; new weights and the losses."""
    wg, bg, wd, bd = [x.copy() for x in w]
    n, d_losses, out = len(real), [], {}

    def d_step(z):
        nonlocal wd, bd
        fake = Z[z] @ wg + bg
        lr_, lf = real @ wd + bd, fake @ wd + bd
        ta, tf = (1.0, 0.0) if label == "ignored" else (a, 1 - a if label == "fakes" else 0.0)
        if label == "half":
            d_losses.append(np.mean(a * _softplus(-lr_)) + np.mean(_softplus(lf)))
            dr = -a * _sigmoid(-lr_) / n
        else:
            d_losses.append(
                np.mean(ta * _softplus(-lr_) + (1 - ta) * _softplus(lr_))
                + np.mean(tf * _softplus(-lf) + (1 - tf) * _softplus(lf))
            )
            dr = (_sigmoid(lr_) - ta) / n
        df = (_sigmoid(lf) - tf) / n
        wd, bd = wd - lr * (real.T @ dr + fake.T @ df), bd - lr * (dr.sum(0) + df.sum(0))

    def g_step():
        nonlocal wg, bg
        fake = Z[g_z] @ wg + bg
        logit = fake @ wd + bd
        out["g"] = -np.mean(_softplus(logit)) if saturating else np.mean(_softplus(-logit))
        d_image = ((-_sigmoid(logit) if saturating else _sigmoid(logit) - 1) / n) @ wd.T
        wg, bg = wg - lr * (Z[g_z].T @ d_image), bg - lr * d_image.sum(0)

    if g_first:
        g_step()
    for z in d_z:
        d_step(z)
    if not g_first:
        g_step()
    return (wg, bg, wd, bd), d_losses, out["g"]


def _explain(w, real, Z, a, lr, d_steps, draws, got):
    """The right step if some way of drawing the noise gives `got`, else the usual mistakes
    that give it: (losses or None, messages)."""

    def close(ws):
        return all(np.allclose(x, y, rtol=1e-4, atol=1e-5) for x, y in zip(ws, got))

    ways = itertools.product((d_steps, 1), _LABELS, (False, True), (False, True))
    ways = sorted(ways, key=lambda v: (v[0] != d_steps) + (v[1] != "right") + v[2] + v[3])
    for steps, label, saturating, g_first in ways:
        for zs in itertools.product(range(max(draws, 1)), repeat=steps + 1):
            new, d_losses, g_loss = _step(
                w, real, Z, a, lr, zs[:-1], zs[-1], label, saturating, g_first
            )
            if not close(new):
                continue
            z_d, z_g = zs[:-1], zs[-1]
            bad = (steps != d_steps, saturating, g_first, z_g in z_d, len(set(z_d)) < steps)
            why = [m.format(d_steps=d_steps) for m, b in zip(_STEP_MISTAKES.values(), bad) if b]
            why += [_LABELS[label]] * (label != "right")
            return ((d_losses, g_loss), []) if not why else (None, why)
    return None, []


@exercise(
    "GAN.adversarial_step: self.d_steps times, fakes = self.generator(self.noise(batch_size), "
    "training=True), then self.minimize(d_loss_fn, self.discriminator, self.d_optimizer), where "
    "d_loss_fn() returns discriminator_loss(real_logits, fake_logits) + (1 - self.real_label) * "
    "ops.mean(real_logits) (target a for real images). Then self.minimize(g_loss_fn, "
    "self.generator, self.g_optimizer), where g_loss_fn() returns generator_loss of D's logits "
    "on G(fresh noise). Update both loss trackers; return {m.name: m.result() for m in "
    "self.metrics}."
)
def gan(gan_class) -> None:
    """`gan_class`: the notebook's GAN; one step of `fit` (any backend) on linear networks, SGD,
    d_steps = 2, real_label = 0.8 and known noise, against the step worked out in NumPy."""
    from keras import Sequential, optimizers

    rng = np.random.default_rng(0)
    n, lr, a, d_steps = 5, 0.1, 0.8, 2
    w = [*(rng.normal(0, 0.5, shape) for shape in ((3, 4), 4, (4, 1))), np.array([0.1])]
    real = rng.normal(size=(n, 4))
    real[0] = 30 * w[2][:, 0] / np.sum(w[2] ** 2)  # a logit of about 30: softplus, not log σ
    real = real.astype(F32).astype(np.float64)
    Z = rng.normal(size=(6, n, 3)).astype(F32).astype(np.float64)
    draws, returned = [0], []

    class Checked(gan_class):
        def noise(self, batch_size):  # known noise: the k-th draw of a step is Z[k]
            draws[0] += 1
            return ops.convert_to_tensor(Z[(draws[0] - 1) % len(Z)].astype(F32))

        def adversarial_step(self, real_images):
            draws[0] = 0
            logs = super().adversarial_step(real_images)
            returned.append(sorted(logs) if isinstance(logs, dict) else logs)
            if isinstance(logs, dict) and logs:
                return logs
            return {"d_loss": ops.zeros(()), "g_loss": ops.zeros(())}  # fit goes on; told below

    g = Sequential([Input((3,)), layers.Dense(4)])
    d = Sequential([Input((4,)), layers.Dense(1)])
    for net, ws in ((g, w[:2]), (d, w[2:])):
        net.set_weights([x.astype(F32) for x in ws])
    try:
        model = Checked(g, d, 3, d_steps=d_steps, real_label=a, seed=0)
    except TypeError as err:
        if "argument" not in str(err):
            raise
        raise Wrong(
            f"GAN(generator, discriminator, latent_dim, d_steps=2, real_label=0.8, seed=0) "
            f"failed ({err}): keep the notebook's __init__"
        ) from None
    model.compile(d_optimizer=optimizers.SGD(lr), g_optimizer=optimizers.SGD(lr))
    history = model.fit(real.astype(F32), batch_size=n, epochs=1, shuffle=False, verbose=0)

    logs = returned[-1] if returned else None
    if not isinstance(logs, list) or not logs:
        raise Wrong(
            f"adversarial_step returned {logs!r}: return the logs, a dict such as {{m.name: "
            f"m.result() for m in self.metrics}}; fit prints them, CSVLogger writes log.csv"
        )
    if not {"d_loss", "g_loss"} <= set(logs):
        raise Wrong(f"adversarial_step's logs have the keys {logs}, expected 'd_loss' and 'g_loss'")
    if draws[0] == 0:
        raise Wrong(
            "no noise was drawn with self.noise(batch_size): draw z with it (the model's seeded "
            "generator), for each D step and for G's step"
        )
    got = [_np(x) for x in (*g.get_weights(), *d.get_weights())]
    if not all(np.all(np.isfinite(x)) for x in got):
        raise Wrong(
            "the weights became NaN or infinite after a step with a real image's logit at 30: "
            "log(σ(ℓ)) or log(1 − σ(ℓ)) rounds to −inf there; write the losses with ops.softplus"
        )
    for name, ours, start in (("discriminator", got[2:], w[2:]), ("generator", got[:2], w[:2])):
        if all(np.allclose(x, y) for x, y in zip(ours, start)):
            raise Wrong(f"the {name} did not change: give self.minimize its loss and optimizer")
    losses, why = _explain(w, real, Z, a, lr, d_steps, draws[0], got)
    if why:
        raise Wrong("; ".join(why))
    if losses is None:
        right, _, _ = _step(w, real, Z, a, lr, range(d_steps), d_steps)
        for x, y, what in zip(got, right, ("G's kernel", "G's bias", "D's kernel", "D's bias")):
            _compare(x, y, f"{what} after one step (d_steps = 2, real_label = 0.8)", atol=1e-5)
        raise Wrong("the weights after one step differ from the reference")
    d_losses, g_loss = losses
    last_d = "L_D of the last D step (or the mean of the D steps')"
    for key, tracker, allowed, what in (
        ("d_loss", model.d_loss_tracker, (d_losses[-1], np.mean(d_losses)), last_d),
        ("g_loss", model.g_loss_tracker, (g_loss,), "L_G of G's step"),
    ):
        if float(ops.convert_to_numpy(tracker.count)) == 0:
            raise Wrong(
                f"self.{key}_tracker was not updated: call self.{key}_tracker.update_state({key})"
                f" with the loss that self.minimize returns"
            )
        for value, where in (
            (_np(ops.convert_to_numpy(tracker.result())), f"self.{key}_tracker"),
            (_np(history.history[key][-1]), f"the logs' {key!r}"),
        ):
            if not any(np.isclose(value, v, rtol=1e-4, atol=1e-5) for v in allowed):
                raise Wrong(f"{where} is {float(value):.6g}, expected {what}: {allowed[0]:.6g}")
