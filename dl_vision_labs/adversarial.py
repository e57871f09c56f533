"""Train two networks against each other with `fit`, on TensorFlow and on JAX.

(Measuring what the generator makes, with a judge, is `dl_vision_labs.gan`.)

    class GAN(adversarial.AdversarialModel):
        def adversarial_step(self, real_images):      # the algorithm, backend-neutral
            ...
            d_loss = self.minimize(d_loss_fn, self.discriminator, self.d_optimizer)
            ...
            return {"d_loss": ..., "g_loss": ...}

`fit` calls `train_step` for every batch. Keras gives that method a different
shape on each backend, and this class supplies both, keras-io style:

* **TensorFlow** changes variables in place, so `train_step(batch)` simply runs
  `adversarial_step(batch)`, and `minimize` takes gradients with
  `tf.GradientTape`.
* **JAX** only differentiates and compiles *pure* functions, so Keras calls
  `train_step(state, batch)` with every variable's value in `state` and expects
  the new values back. Here `adversarial_step` runs inside a
  `keras.StatelessScope` holding those values (every assignment it makes, by
  batch normalization, the noise seed, the optimizers or the metrics, is
  recorded there and returned as the new state), and `minimize` takes gradients
  with `jax.value_and_grad` of the loss as a pure function of the weights.

Both optimizers live in one `OptimizerPair`, the object Keras' JAX trainer reads
optimizer state from; the TensorFlow trainer ignores it. Checkpoints
(`BackupAndRestore`) save both networks and both optimizers on either backend.
"""

from __future__ import annotations

from collections.abc import Callable

import keras


@keras.saving.register_keras_serializable(package="dl_vision_labs")
class MinibatchStdDev(keras.layers.Layer):
    """Appends one channel: the standard deviation of each feature over the batch, averaged.

    A discriminator that sees single images cannot tell that a generator draws
    the same image again and again; with this channel it sees how much the
    images of a batch differ (Karras et al., 2018, progressive GANs).
    """

    def call(self, x):
        from keras import ops

        spread = ops.mean(ops.sqrt(ops.var(x, axis=0) + 1e-8))
        return ops.concatenate([x, ops.ones_like(x[..., :1]) * spread], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)


class OptimizerPair:
    """The discriminator's and the generator's optimizers, seen by `fit` as one.

    Keras' JAX trainer passes ``model.optimizer.variables`` into the training
    step and back; this gives it the variables of both optimizers, in a fixed order.
    """

    built = True  # both optimizers are built by `AdversarialModel.compile`

    def __init__(self, *optimizers):
        self.optimizers = optimizers

    @property
    def variables(self):
        return [v for optimizer in self.optimizers for v in optimizer.variables]

    def build(self, variables):  # called by Keras only when `built` is False
        raise RuntimeError("build each optimizer of the pair on its own network's variables")


class AdversarialModel(keras.Model):
    """A generator and a discriminator trained together by `fit`.

    Subclasses write `adversarial_step(real_images)`: the losses and which network
    each one updates, through `minimize`; it returns the logs (a dict of scalars).
    """

    def __init__(self, generator, discriminator, latent_dim: int, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self._scope = None  # the JAX training step's StatelessScope, while it runs

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        # Create the optimizers' variables now, so that a checkpoint can restore them.
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)
        self.optimizer = OptimizerPair(d_optimizer, g_optimizer)
        self.built = True  # both networks were built with an Input shape

    def build(self, input_shape=None):
        self.built = True  # both networks were built with an Input shape

    def call(self, z, training=False):
        return self.generator(z, training=training)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def noise(self, batch_size):
        """A batch of latent vectors z ~ N(0, I), from the model's seeded generator."""
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def adversarial_step(self, real_images):
        raise NotImplementedError(
            "write adversarial_step(real_images) in your subclass: the discriminator's and "
            "the generator's updates for one batch, each through self.minimize(...)"
        )

    # --- one implementation per backend ---------------------------------------------------

    def train_step(self, *args):
        backend = keras.backend.backend()
        if backend == "tensorflow":
            (real_images,) = args
            return self._logs(self.adversarial_step(real_images))
        if backend == "jax":
            return self._jax_train_step(*args)
        raise NotImplementedError(
            f"AdversarialModel trains on the TensorFlow or JAX backend, not {backend!r}: "
            "set KERAS_BACKEND before Keras is imported"
        )

    @staticmethod
    def _logs(logs):
        if not isinstance(logs, dict) or not logs:
            raise ValueError(
                f"adversarial_step must return the logs, a non-empty dict such as "
                f"{{m.name: m.result() for m in self.metrics}}; it returned {logs!r}"
            )
        return logs

    def minimize(self, loss_fn: Callable, network, optimizer):
        """One step of `optimizer` on `network`'s weights, down the gradient of `loss_fn()`.

        `loss_fn` takes no argument and calls the networks as usual; it may update
        other state (batch-norm statistics, the noise seed). Returns the loss.
        """
        weights = network.trainable_variables
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            with tf.GradientTape() as tape:
                loss = loss_fn()
            optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
            return loss
        return self._jax_minimize(loss_fn, weights, optimizer)

    def _state_variables(self):
        """Every variable in the JAX training state, in the order of Keras' JAX trainer."""
        return (
            self.trainable_variables,
            self.non_trainable_variables,
            self.optimizer.variables,
            self.metrics_variables,
        )

    def _jax_train_step(self, state, real_images):
        groups = self._state_variables()
        mapping = [
            (v, value)
            for variables, values in zip(groups, state)
            for v, value in zip(variables, values)
        ]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            self._scope = scope
            try:
                logs = self._logs(self.adversarial_step(real_images))
            finally:
                self._scope = None
        new_state = tuple([scope.get_current_value(v) for v in variables] for variables in groups)
        return logs, new_state

    def _jax_minimize(self, loss_fn, weights, optimizer):
        import jax

        outer = self._scope
        if outer is None:
            raise RuntimeError("on JAX, minimize() works only inside train_step (called by fit)")
        everything = [v for variables in self._state_variables() for v in variables]
        is_weight = {id(w) for w in weights}

        def pure_loss(weight_values):
            """The loss as a function of the weights' values alone: what JAX differentiates."""
            mapping = [(v, outer.get_current_value(v)) for v in everything]
            mapping += list(zip(weights, weight_values))  # later pairs win
            with keras.StatelessScope(state_mapping=mapping) as inner:
                loss = loss_fn()
            changes = [inner.get_current_value(v) for v in everything]
            return loss, changes

        (loss, changes), grads = jax.value_and_grad(pure_loss, has_aux=True)(
            [outer.get_current_value(w) for w in weights]
        )
        for v, value in zip(everything, changes):  # batch-norm statistics, noise seed...
            if id(v) not in is_weight:
                outer.add_update((v, value))
        optimizer.apply(grads, weights)  # recorded in the outer scope, like every assignment
        return loss
