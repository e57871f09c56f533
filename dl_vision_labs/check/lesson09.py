"""Checks of notebook 09's exercises: the DCGAN."""

import numpy as np
from keras import Input, layers, ops

from .core import _compare, exercise, _np, Wrong


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _logits():
    rng = np.random.default_rng(0)
    return rng.normal(0, 3, size=(6, 1)).astype("float32"), rng.normal(0, 3, size=(4, 1)).astype(
        "float32")


@exercise(
    "With D = σ(ℓ): −log σ(ℓ) = softplus(−ℓ) and −log(1 − σ(ℓ)) = softplus(ℓ). "
    "Average each over its batch (ops.mean) and add them.")
def discriminator_loss(fn) -> None:
    """`fn(real_logits, fake_logits)`: −mean log D(x) − mean log(1 − D(G(z))), D = σ(logit)."""
    real, fake = _logits()
    want = (-np.mean(np.log(_sigmoid(real.astype(np.float64))))
            - np.mean(np.log(1 - _sigmoid(fake.astype(np.float64)))))
    got = _np(fn(ops.convert_to_tensor(real), ops.convert_to_tensor(fake)))
    if got.shape != ():
        raise Wrong(f"the loss has shape {got.shape}: average it to one number")
    if not np.isclose(got, want, rtol=1e-4):
        swapped = (-np.mean(np.log(1 - _sigmoid(real.astype(np.float64))))
                   - np.mean(np.log(_sigmoid(fake.astype(np.float64)))))
        why = (" (real and fake swapped: D should say 1 for real images)"
               if np.isclose(got, swapped, rtol=1e-4) else "")
        raise Wrong(f"the loss is {float(got):.5g}, expected {want:.5g}{why}")


@exercise(
    "The non-saturating loss: −log D(G(z)) = softplus(−ℓ) of the fake images' "
    "logits, averaged over the batch.")
def generator_loss(fn) -> None:
    """`fn(fake_logits)`: the non-saturating −mean log D(G(z)), D = σ(logit)."""
    _, fake = _logits()
    want = -np.mean(np.log(_sigmoid(fake.astype(np.float64))))
    got = _np(fn(ops.convert_to_tensor(fake)))
    if got.shape != ():
        raise Wrong(f"the loss has shape {got.shape}: average it to one number")
    if not np.isclose(got, want, rtol=1e-4):
        saturating = np.mean(np.log(1 - _sigmoid(fake.astype(np.float64))))
        why = (" (that is the saturating log(1 − D(G(z))); minimise −log D(G(z)) instead)"
               if np.isclose(got, saturating, rtol=1e-4) else "")
        raise Wrong(f"the loss is {float(got):.5g}, expected {want:.5g}{why}")


@exercise(
    "GAN.adversarial_step: d_steps times, fakes = "
    "self.generator(self.noise(batch_size), training=True), then "
    "self.minimize(d_loss_fn, self.discriminator, self.d_optimizer) where "
    "d_loss_fn() returns discriminator_loss of D's logits on the real and on the "
    "fake batch. Then self.minimize(g_loss_fn, self.generator, self.g_optimizer), "
    "where g_loss_fn() returns generator_loss of D's logits on G(fresh noise). "
    "Update both loss trackers; return their results.")
def gan(gan_class) -> None:
    """`gan_class`: the notebook's GAN; one training step through `fit` (any backend) on
    linear networks, SGD and fixed noise, against the same step worked out here in NumPy."""
    from keras import Sequential, initializers, optimizers

    rng = np.random.default_rng(0)
    real = rng.normal(size=(5, 4)).astype("float32")
    z = rng.normal(size=(5, 3)).astype("float32")
    lr = 0.1

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    g = Sequential([Input((3,)), layers.Dense(4, kernel_initializer=initializers.RandomNormal(
        seed=1), bias_initializer=initializers.RandomNormal(seed=3))])
    d = Sequential([Input((4,)), layers.Dense(1, kernel_initializer=initializers.RandomNormal(
        seed=2))])
    (wg, bg), (wd, bd) = [[w.astype(np.float64) for w in m.get_weights()] for m in (g, d)]
    model = gan_class(g, d, 3, d_steps=1, seed=0)
    model.noise = lambda batch_size: ops.convert_to_tensor(z)  # the same noise here and there
    model.compile(d_optimizer=optimizers.SGD(lr), g_optimizer=optimizers.SGD(lr))
    model.fit(real, batch_size=len(real), epochs=1, shuffle=False, verbose=0)

    # By hand: L_D = mean softplus(-l_real) + mean softplus(l_fake), dL/dl = -σ(-l)/n, σ(l)/n
    n, fake = len(real), z @ wg + bg
    d_real, d_fake = -sigmoid(-(real @ wd + bd)) / n, sigmoid(fake @ wd + bd) / n
    wd2 = wd - lr * (real.T @ d_real + fake.T @ d_fake)
    bd2 = bd - lr * (d_real.sum(0) + d_fake.sum(0))
    # L_G = mean softplus(-D(G(z))) through the updated D, back to G's weights
    d_logit = -sigmoid(-(fake @ wd2 + bd2)) / n
    d_image = d_logit @ wd2.T
    wg2, bg2 = wg - lr * (z.T @ d_image), bg - lr * d_image.sum(0)
    for name, ours, start, want in (("discriminator", d, (wd, bd), (wd2, bd2)),
                                    ("generator", g, (wg, bg), (wg2, bg2))):
        got = ours.get_weights()
        if all(np.allclose(a, b) for a, b in zip(got, start)):
            raise Wrong(f"the {name} did not change: pass its loss, the {name} and its "
                        f"optimizer to self.minimize")
        for a, b in zip(got, want):
            _compare(a, b, f"the {name}'s weights after one step", rtol=1e-4, atol=1e-5)
