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


def _gradient(fn, *args):
    """The gradient of the scalar fn(*args) with respect to each argument, on the backend
    the lesson trains with (None on another backend); Wrong when it cannot be taken."""
    import keras

    tensors = [ops.convert_to_tensor(a) for a in args]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            for t in tensors:
                tape.watch(t)
            loss = fn(*tensors)
        grads = tape.gradient(loss, tensors) if tf.is_tensor(loss) else [None]
    elif backend == "jax":
        import jax

        try:
            grads = jax.grad(fn, argnums=tuple(range(len(tensors))))(*tensors)
        except Exception as err:  # ran on arrays above: it cannot be traced (NumPy inside)
            raise Wrong(
                f"the loss cannot be differentiated ({type(err).__name__}): compute "
                f"it with keras.ops, not NumPy, so that minimize can take its "
                f"gradient"
            ) from None
    else:
        return None
    if any(g is None for g in grads):
        raise Wrong(
            "the loss has no gradient with respect to the logits: compute it with "
            "keras.ops (not NumPy, not float()), so that minimize can take its gradient"
        )
    return [_np(g) for g in grads]


_NEAR = (
    np.random.default_rng(0).normal(0, 3, (6, 1)).astype(F32),
    np.random.default_rng(1).normal(0, 3, (4, 1)).astype(F32),
)
_FAR = (
    np.array([[-120], [-40], [-25], [3], [30], [60]], F32),  # |ℓ| ≫ 1: σ(ℓ) rounds
    np.array([[-110], [-20], [25], [90]], F32),
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
            raise Wrong(
                f"the loss has shape {got.shape}: average it over the batch to one "
                f"number (ops.mean)"
            )
        expected = want(*args)
        shown = ", ".join(f"{v:g}" for a in args for v in a[:, 0])
        if far and not np.isfinite(got):
            raise Wrong(
                f"the loss is {float(got)} for logits far from 0 ({shown}): σ(ℓ) "
                f"rounds to 0 or 1 in float32, so log(σ(ℓ)) or log(1 − σ(ℓ)) is −inf;"
                f" write −log σ(ℓ) as ops.softplus(−ℓ), −log(1 − σ(ℓ)) as "
                f"ops.softplus(ℓ)"
            )
        if not np.isclose(got, expected, rtol=1e-4, atol=1e-5):
            if far:
                raise Wrong(
                    f"the loss is {float(got):.6g} for logits far from 0 ({shown}), "
                    f"expected {expected:.6g} (right near 0, so a rounded sigmoid, an "
                    f"epsilon in the log or an approximation): use ops.softplus"
                )
            why = next(
                (f" ({m})" for m, v in mistakes(*args).items() if np.isclose(got, v, rtol=1e-4)), ""
            )
            raise Wrong(f"the loss is {float(got):.6g}, expected {expected:.6g}{why}")
        grads = _gradient(fn, *args)
        for g, w, name in zip(grads or [], gradients(*args), names):
            _compare(
                g,
                w,
                f"the gradient of the loss with respect to {name}"
                + (" (logits far from 0)" if far else ""),
                atol=1e-6,
            )


@exercise(
    "With D = σ(ℓ): −log σ(ℓ) = softplus(−ℓ) and −log(1 − σ(ℓ)) = softplus(ℓ). "
    "return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits)): "
    "each batch averaged on its own."
)
def discriminator_loss(fn) -> None:
    """`fn(real_logits, fake_logits)`: −mean log D(x) − mean log(1 − D(G(z))), D = σ(logit)."""

    def want(r, f):
        return np.mean(_softplus(-r)) + np.mean(_softplus(f))

    def mistakes(r, f):
        return {
            "real and fake swapped: D should say 1 for real images, 0 for fakes": np.mean(
                _softplus(r)
            )
            + np.mean(_softplus(-f)),
            "summed over the batch: average each batch with ops.mean": np.sum(_softplus(-r))
            + np.sum(_softplus(f)),
            "one mean over both batches together: average each batch on its own, then add": np.mean(
                np.concatenate([_softplus(-r), _softplus(f)])
            ),
            "wrong sign: D minimises −log D(x) − log(1 − D(G(z))), a positive loss": -want(r, f),
            "only the real images' term: add softplus(fake_logits), averaged": np.mean(
                _softplus(-r)
            ),
            "only the fakes' term: add softplus(−real_logits), averaged": np.mean(_softplus(f)),
        }

    _check_loss(
        fn,
        [_NEAR, _FAR],
        ("real_logits", "fake_logits"),
        want,
        lambda r, f: [(_sigmoid(r) - 1) / len(r), _sigmoid(f) / len(f)],
        mistakes,
    )


@exercise(
    "The non-saturating loss: −log D(G(z)) = softplus(−ℓ) of the fake images' logits, "
    "averaged over the batch: return ops.mean(ops.softplus(-fake_logits))."
)
def generator_loss(fn) -> None:
    """`fn(fake_logits)`: the non-saturating −mean log D(G(z)), D = σ(logit)."""

    def mistakes(f):
        return {
            "that is the saturating log(1 − D(G(z))); minimise −log D(G(z)) instead": -np.mean(
                _softplus(f)
            ),
            "that trains G to make D say fake: G's fakes aim at D = 1, softplus(−ℓ)": np.mean(
                _softplus(f)
            ),
            "summed over the batch: average it with ops.mean": np.sum(_softplus(-f)),
            "wrong sign: minimise −log D(G(z)), a positive loss": -np.mean(_softplus(-f)),
        }

    _check_loss(
        fn,
        [_NEAR[1:], _FAR[1:]],
        ("fake_logits",),
        lambda f: np.mean(_softplus(-f)),
        lambda f: [(_sigmoid(f) - 1) / len(f)],
        mistakes,
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
    "g_first": "G was updated before D: first the d_steps steps on D, then G's step through "
    "the updated D",
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
            mistakes = (
                (_STEP_MISTAKES["steps"].format(d_steps=d_steps), steps != d_steps),
                (_LABELS[label], label != "right"),
                (_STEP_MISTAKES["saturating"], saturating),
                (_STEP_MISTAKES["g_first"], g_first),
                (_STEP_MISTAKES["g_noise"], zs[-1] in zs[:-1]),
                (_STEP_MISTAKES["d_noise"], len(set(zs[:-1])) < steps),
            )
            why = [m for m, bad in mistakes if bad]
            if not why:
                return (d_losses, g_loss), []
            return None, why
    return None, []


@exercise(
    "GAN.adversarial_step: self.d_steps times, fakes = "
    "self.generator(self.noise(batch_size), training=True), then "
    "self.minimize(d_loss_fn, self.discriminator, self.d_optimizer), where d_loss_fn() "
    "returns discriminator_loss(real_logits, fake_logits) + (1 - self.real_label) * "
    "ops.mean(real_logits) (target a for real images). Then "
    "self.minimize(g_loss_fn, self.generator, self.g_optimizer), where g_loss_fn() returns "
    "generator_loss of D's logits on G(fresh noise). Update both loss trackers; return "
    "{m.name: m.result() for m in self.metrics}."
)
def gan(gan_class) -> None:
    """`gan_class`: the notebook's GAN; one training step through `fit` (any backend) on
    linear networks and SGD, d_steps = 2 and real_label = 0.8, with known noise batches,
    against the same step worked out here in NumPy."""
    from keras import Sequential, optimizers

    rng = np.random.default_rng(0)
    n, lr, a, d_steps = 5, 0.1, 0.8, 2
    w = [
        rng.normal(0, 0.5, (3, 4)),
        rng.normal(0, 0.5, 4),
        rng.normal(0, 0.5, (4, 1)),
        np.array([0.1]),
    ]
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
    g.set_weights([x.astype(F32) for x in w[:2]])
    d.set_weights([x.astype(F32) for x in w[2:]])
    try:
        model = Checked(g, d, 3, d_steps=d_steps, real_label=a, seed=0)
    except TypeError as err:
        if "argument" not in str(err):
            raise
        raise Wrong(
            f"GAN(generator, discriminator, latent_dim, d_steps=2, real_label=0.8, "
            f"seed=0) failed ({err}): keep the notebook's __init__"
        ) from None
    model.compile(d_optimizer=optimizers.SGD(lr), g_optimizer=optimizers.SGD(lr))
    history = model.fit(real.astype(F32), batch_size=n, epochs=1, shuffle=False, verbose=0)

    logs = returned[-1] if returned else None
    if not isinstance(logs, list) or not logs:
        raise Wrong(
            f"adversarial_step returned {logs!r}: return the logs, a dict such as "
            f"{{m.name: m.result() for m in self.metrics}}; fit prints them and "
            f"CSVLogger writes them to log.csv"
        )
    if not {"d_loss", "g_loss"} <= set(logs):
        raise Wrong(
            f"adversarial_step's logs have the keys {logs}, expected 'd_loss' and "
            f"'g_loss' (the loss chart reads them from log.csv)"
        )
    if draws[0] == 0:
        raise Wrong(
            "no noise was drawn with self.noise(batch_size): draw z with it (the "
            "model's seeded generator), for each D step and for G's step"
        )
    got = [_np(x) for x in (*g.get_weights(), *d.get_weights())]
    if not all(np.all(np.isfinite(x)) for x in got):
        raise Wrong(
            "the weights became NaN or infinite after one step with a real image "
            "whose logit is 30: a loss written with log(σ(ℓ)) or log(1 − σ(ℓ)) "
            "rounds to −inf there; write it with ops.softplus"
        )
    for name, ours, start in (("discriminator", got[2:], w[2:]), ("generator", got[:2], w[:2])):
        if all(np.allclose(x, y) for x, y in zip(ours, start)):
            raise Wrong(
                f"the {name} did not change: pass its loss, the {name} and its "
                f"optimizer to self.minimize"
            )
    losses, why = _explain(w, real, Z, a, lr, d_steps, draws[0], got)
    if why:
        raise Wrong("; ".join(why))
    if losses is None:
        right, _, _ = _step(w, real, Z, a, lr, range(d_steps), d_steps)
        for x, y, what in zip(got, right, ("G's kernel", "G's bias", "D's kernel", "D's bias")):
            _compare(
                x, y, f"{what} after one step (d_steps = 2, real_label = 0.8)", rtol=1e-4, atol=1e-5
            )
        raise Wrong("the weights after one step differ from the reference")
    d_losses, g_loss = losses
    for key, tracker, allowed, what in (
        (
            "d_loss",
            model.d_loss_tracker,
            (d_losses[-1], np.mean(d_losses)),
            "L_D of the last D step (or the mean of the D steps')",
        ),
        ("g_loss", model.g_loss_tracker, (g_loss,), "L_G of G's step"),
    ):
        if float(ops.convert_to_numpy(tracker.count)) == 0:
            raise Wrong(
                f"self.{key}_tracker was not updated: call "
                f"self.{key}_tracker.update_state({key}) with the loss that "
                f"self.minimize returns"
            )
        for value, where in (
            (_np(ops.convert_to_numpy(tracker.result())), f"self.{key}_tracker"),
            (_np(history.history[key][-1]), f"the logs' {key!r}"),
        ):
            if not any(np.isclose(value, v, rtol=1e-4, atol=1e-5) for v in allowed):
                raise Wrong(
                    f"{where} is {float(value):.6g}, expected {what}: {float(allowed[0]):.6g}"
                )
