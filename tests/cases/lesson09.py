"""Right and wrong answers to notebook 09's exercises (the DCGAN)."""

import keras
import numpy as np
from keras import ops

from dl_vision_labs import adversarial, check
from tests.cases import Case, Wrong


def softplus_d(r, f):
    return ops.mean(ops.softplus(-r)) + ops.mean(ops.softplus(f))


def softplus_g(f):
    return ops.mean(ops.softplus(-f))


# --- discriminator_loss ---------------------------------------------------------------------


def d_log_sigmoid(r, f):  # log σ written stably by Keras
    return -ops.mean(ops.log_sigmoid(r)) - ops.mean(ops.log_sigmoid(-f))


def d_keras_bce(r, f):  # binary cross-entropies with labels 1 and 0, from the logits
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    return bce(ops.ones_like(r), r) + bce(ops.zeros_like(f), f)


def d_float64(r, f):  # in float64, with the identity softplus(ℓ) = ℓ + softplus(−ℓ)
    r, f = ops.cast(r, "float64"), ops.cast(f, "float64")
    return ops.mean(ops.softplus(-r)) + ops.mean(f + ops.softplus(-f))


def d_naive(r, f):  # log of a rounded sigmoid: −inf far from 0
    return -ops.mean(ops.log(ops.sigmoid(r))) - ops.mean(ops.log(1 - ops.sigmoid(f)))


def d_epsilon(r, f):  # an epsilon keeps it finite, but wrong far from 0
    eps = 1e-7
    return -ops.mean(ops.log(ops.sigmoid(r) + eps)) - ops.mean(ops.log(1 - ops.sigmoid(f) + eps))


def d_naive_softplus(r, f):  # log(1 + exp(x)) overflows
    return ops.mean(ops.log(1 + ops.exp(-r))) + ops.mean(ops.log(1 + ops.exp(f)))


def d_numpy(r, f):  # right values, but NumPy: no gradient for minimize
    r, f = ops.convert_to_numpy(r), ops.convert_to_numpy(f)
    return np.mean(np.logaddexp(0, -r)) + np.mean(np.logaddexp(0, f))


DISCRIMINATOR_LOSS = Case(
    run=check.discriminator_loss,
    right=[softplus_d, d_log_sigmoid, d_keras_bce, d_float64],
    wrong=[
        Wrong(
            lambda r, f: ops.mean(ops.softplus(r)) + ops.mean(ops.softplus(-f)),
            "real and fake swapped",
            "labels swapped",
        ),
        Wrong(
            lambda r, f: ops.sum(ops.softplus(-r)) + ops.sum(ops.softplus(f)),
            "summed over the batch",
            "sum instead of mean",
        ),
        Wrong(
            lambda r, f: ops.mean(ops.concatenate([ops.softplus(-r), ops.softplus(f)])),
            "one mean over both batches",
            "one mean of both batches",
        ),
        Wrong(lambda r, f: -softplus_d(r, f), "wrong sign", "the value function, maximised"),
        Wrong(
            lambda r, f: ops.mean(ops.softplus(-r)),
            "only the real images' term",
            "forgot the fakes",
        ),
        Wrong(d_naive, r"far from 0.*softplus", "log(sigmoid): -inf at large logits"),
        Wrong(d_epsilon, r"far from 0.*epsilon.*softplus", "epsilon in the log"),
        Wrong(d_naive_softplus, r"far from 0.*softplus", "log(1 + exp) overflows"),
        Wrong(d_numpy, "NumPy", "not differentiable"),
        Wrong(
            lambda r, f: ops.softplus(-r)[:4] + ops.softplus(f), "shape .*average", "not averaged"
        ),
        Wrong(lambda r, f: None, "returned None", "no return"),
    ],
)


# --- generator_loss -------------------------------------------------------------------------

GENERATOR_LOSS = Case(
    run=check.generator_loss,
    right=[
        softplus_g,
        lambda f: -ops.mean(ops.log_sigmoid(f)),
        lambda f: keras.losses.BinaryCrossentropy(from_logits=True)(ops.ones_like(f), f),
        lambda f: ops.mean(ops.softplus(-ops.cast(f, "float64"))),
    ],
    wrong=[
        Wrong(lambda f: ops.mean(ops.log(1 - ops.sigmoid(f))), "saturating", "saturating loss"),
        Wrong(lambda f: ops.mean(ops.softplus(f)), "make D say fake", "labels fakes 0"),
        Wrong(lambda f: ops.sum(ops.softplus(-f)), "summed", "sum instead of mean"),
        Wrong(lambda f: -ops.mean(ops.softplus(-f)), "wrong sign", "maximises the loss"),
        Wrong(
            lambda f: -ops.mean(ops.log(ops.sigmoid(f))),
            r"far from 0.*softplus",
            "log(sigmoid) is -inf at large negative logits",
        ),
        Wrong(
            lambda f: -ops.mean(ops.log(ops.sigmoid(f) + 1e-8)),
            r"far from 0.*epsilon",
            "epsilon in the log",
        ),
        Wrong(
            lambda f: float(ops.convert_to_numpy(softplus_g(f))),
            "gradient|differentiated",
            "a Python float: no gradient",
        ),
        Wrong(lambda f: ops.softplus(-f), "shape", "not averaged"),
        Wrong(lambda f: None, "returned None", "no return"),
    ],
)


# --- optimal_discriminator, gan_value: GAN theory on a 1-D grid ------------------------------


def d_star_log(p_data, p_g):  # in log space: exp(log p_data − log(p_data + p_g))
    log_p, log_q = np.log(p_data), np.log(p_g)
    return np.exp(log_p - np.logaddexp(log_p, log_q))


def d_star_loop(p_data, p_g):
    return np.array([a / (a + b) for a, b in zip(p_data, p_g)])


OPTIMAL_DISCRIMINATOR = Case(
    run=check.optimal_discriminator,
    right=[
        lambda p_data, p_g: p_data / (p_data + p_g),
        lambda p_data, p_g: 1 / (1 + p_g / p_data),
        d_star_log,
        d_star_loop,
        lambda p_data, p_g: ops.convert_to_numpy(ops.sigmoid(ops.log(p_data) - ops.log(p_g))),
    ],
    wrong=[
        Wrong(lambda p_data, p_g: p_g / (p_data + p_g), "p_g on top", "ratio inverted"),
        Wrong(lambda p_data, p_g: p_data / p_g, "denominator is p_data \\+ p_g", "p_data / p_g"),
        Wrong(lambda p_data, p_g: p_data / p_data + p_g, "parentheses", "operator precedence"),
        Wrong(lambda p_data, p_g: np.full_like(p_data, 0.5), "only at the equilibrium", "D = 1/2"),
        Wrong(lambda p_data, p_g: (p_data > p_g).astype(float), "0/1 decision", "a hard decision"),
        Wrong(lambda p_data, p_g: None, "returned None", "no return"),
    ],
)


def value_sum(d, p_data, p_g, dx):
    return np.sum(p_data * np.log(d) + p_g * np.log(1 - d)) * dx


def value_weighted(d, p_data, p_g, dx):  # expectations as weighted means: no dx needed
    return np.average(np.log(d), weights=p_data) + np.average(np.log1p(-d), weights=p_g)


def value_trapezoid(d, p_data, p_g, dx):
    return np.trapezoid(p_data * np.log(d), dx=dx) + np.trapezoid(p_g * np.log(1 - d), dx=dx)


def value_ops(d, p_data, p_g, dx):
    return ops.sum(p_data * ops.log(d) + p_g * ops.log(1 - d)) * dx


GAN_VALUE = Case(
    run=check.gan_value,
    right=[value_sum, value_weighted, value_trapezoid, value_ops],
    wrong=[
        Wrong(
            lambda d, p, q, dx: np.sum(p * np.log10(d) + q * np.log10(1 - d)) * dx,
            "log base 10",
            "log10",
        ),
        Wrong(
            lambda d, p, q, dx: np.sum(p * np.log(d)) * dx,
            "generator's term.*missing",
            "value without the generator term",
        ),
        Wrong(lambda d, p, q, dx: -value_sum(d, p, q, dx), "wrong sign", "the loss, not V"),
        Wrong(lambda d, p, q, dx: value_sum(d, p, q, 1.0), "not multiplied by dx", "forgot dx"),
        Wrong(
            lambda d, p, q, dx: np.mean(p * np.log(d) + q * np.log(1 - d)),
            "a mean over the grid",
            "np.mean instead of the integral",
        ),
        Wrong(lambda d, p, q, dx: value_sum(d, q, p, dx), "swapped", "densities swapped"),
        Wrong(lambda d, p, q, dx: p * np.log(d) + q * np.log(1 - d), "shape", "not summed"),
    ],
)


# --- gan ----------------------------------------------------------------------------------


def gan_class(
    *,
    label="right",
    g_loss="right",
    g_first=False,
    d_steps=None,
    same_noise=False,
    trackers=True,
    logs="metrics",
    fakes_inside=False,
    g_noise_first=False,
    mean_tracker=False,
):
    """The notebook's GAN, with the adversarial_step written one way or another."""

    def d_loss(r, f, a):
        if label == "right":  # L_D with target a: L_D(1) + (1 − a)·mean(ℓ_real)
            return softplus_d(r, f) + (1 - a) * ops.mean(r)
        if label == "bce":  # the cross-entropy with target a written out
            return ops.mean(a * ops.softplus(-r) + (1 - a) * ops.softplus(r)) + ops.mean(
                ops.softplus(f)
            )
        if label == "keras":
            bce = keras.losses.BinaryCrossentropy(from_logits=True)
            return bce(ops.full_like(r, a), r) + bce(ops.zeros_like(f), f)
        if label == "ignored":
            return softplus_d(r, f)
        if label == "half":
            return ops.mean(a * ops.softplus(-r)) + ops.mean(ops.softplus(f))
        if label == "fakes":
            return softplus_d(r, f) + (1 - a) * (ops.mean(r) - ops.mean(f))
        if label == "naive":
            return softplus_d(r, f) - (1 - a) * ops.mean(
                ops.log(1 - ops.sigmoid(r)) - ops.log(ops.sigmoid(r))
            )
        raise ValueError(label)

    def g_loss_of(logits):
        return (
            ops.mean(ops.log(1 - ops.sigmoid(logits)))
            if g_loss == "saturating"
            else softplus_g(logits)
        )

    class GAN(adversarial.AdversarialModel):
        def __init__(
            self, generator, discriminator, latent_dim, d_steps=1, real_label=1.0, seed=None
        ):
            super().__init__(generator, discriminator, latent_dim, seed=seed)
            self.d_steps, self.real_label = d_steps, real_label

        def adversarial_step(self, real_images):
            n = ops.shape(real_images)[0]
            z_g = self.noise(n) if g_noise_first else None
            z_once = self.noise(n) if same_noise else None

            def g_loss_fn():
                z = z_once if same_noise else (z_g if g_noise_first else self.noise(n))
                return g_loss_of(
                    self.discriminator(self.generator(z, training=True), training=True)
                )

            if g_first:
                g_loss = self.minimize(g_loss_fn, self.generator, self.g_optimizer)
            for _ in range(self.d_steps if d_steps is None else d_steps):
                z = z_once if same_noise else self.noise(n)
                fakes = None if fakes_inside else ops.stop_gradient(self.generator(z))

                def d_loss_fn():
                    f = self.generator(z, training=True) if fakes_inside else fakes
                    return d_loss(
                        self.discriminator(real_images, training=True),
                        self.discriminator(f, training=True),
                        self.real_label,
                    )

                d_loss_value = self.minimize(d_loss_fn, self.discriminator, self.d_optimizer)
                if trackers and mean_tracker:
                    self.d_loss_tracker.update_state(d_loss_value)
            if not g_first:
                g_loss = self.minimize(g_loss_fn, self.generator, self.g_optimizer)
            if trackers:
                if not mean_tracker:
                    self.d_loss_tracker.update_state(d_loss_value)
                self.g_loss_tracker.update_state(g_loss)
            if logs == "metrics":
                return {m.name: m.result() for m in self.metrics}
            if logs == "raw":
                return {"d_loss": d_loss_value, "g_loss": g_loss}
            if logs == "other names":
                return {"loss_d": d_loss_value, "loss_g": g_loss}
            return None

    return GAN


class NoGenerator(gan_class()):  # D trained, G never
    def adversarial_step(self, real_images):
        n = ops.shape(real_images)[0]
        for _ in range(self.d_steps):
            fakes = self.generator(self.noise(n))
            d = self.minimize(
                lambda: (
                    softplus_d(self.discriminator(real_images), self.discriminator(fakes))
                    + (1 - self.real_label) * ops.mean(self.discriminator(real_images))
                ),
                self.discriminator,
                self.d_optimizer,
            )
        self.d_loss_tracker.update_state(d)
        self.g_loss_tracker.update_state(d)
        return {m.name: m.result() for m in self.metrics}


class OldConstructor(gan_class()):  # an __init__ without real_label
    def __init__(self, generator, discriminator, latent_dim, d_steps=1, seed=None):
        super().__init__(generator, discriminator, latent_dim, d_steps=d_steps, seed=seed)


class Unfilled(gan_class()):  # the exercise version: the notebook's __init__, no step
    def adversarial_step(self, real_images):
        raise NotImplementedError("exercise 'gan' is not filled in yet")


GAN = Case(
    run=check.gan,
    unfilled=Unfilled,
    right=[
        gan_class(),
        gan_class(label="bce", fakes_inside=True, mean_tracker=True),
        gan_class(label="keras", g_noise_first=True, logs="raw"),
    ],
    wrong=[
        Wrong(gan_class(logs=None), "returned None.*return the logs", "returns nothing"),
        Wrong(gan_class(logs="other names"), "'d_loss' and 'g_loss'", "other log names"),
        Wrong(gan_class(g_loss="saturating"), "saturating", "saturating generator loss"),
        Wrong(gan_class(g_first=True), "G was updated before D", "G's step first"),
        Wrong(gan_class(d_steps=1), "not d_steps = 2", "D_STEPS ignored"),
        Wrong(gan_class(label="ignored"), "target is 1, not real_label", "REAL_LABEL ignored"),
        Wrong(
            gan_class(label="half"),
            r"\(1 − a\)·softplus\(ℓ\) term is missing",
            "label smoothing: a·softplus(−ℓ) only",
        ),
        Wrong(gan_class(label="fakes"), "one-sided", "smoothing the fakes' labels too"),
        Wrong(
            gan_class(label="naive"),
            "NaN or infinite.*softplus",
            "log(1 − σ) in the smoothing term",
        ),
        Wrong(gan_class(same_noise=True), "reused the noise", "the same noise for G and D"),
        Wrong(
            gan_class(trackers=False, logs="raw"), "tracker was not updated", "trackers not updated"
        ),
        Wrong(NoGenerator, "generator did not change", "G never trained"),
        Wrong(OldConstructor, "keep the notebook's __init__", "no real_label argument"),
    ],
)


CASES = {
    "discriminator_loss": DISCRIMINATOR_LOSS,
    "generator_loss": GENERATOR_LOSS,
    "optimal_discriminator": OPTIMAL_DISCRIMINATOR,
    "gan_value": GAN_VALUE,
    "gan": GAN,
}
