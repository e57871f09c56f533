"""Right and wrong answers to notebook 07's exercises (ConvNet architectures, fine-tuning,
CAM, Grad-CAM)."""

import keras
import numpy as np
from keras import layers, ops

from dl_vision_labs import check
from tests.cases import Case, Wrong

# --- receptive_field ----------------------------------------------------------------------------


def field_notebook(n_layers, kernel):
    return n_layers * (kernel - 1) + 1


def field_loop(n_layers, kernel):  # grow the region layer by layer
    side = 1
    for _ in range(n_layers):
        side += kernel - 1
    return side


def field_numpy(n_layers, kernel):  # a NumPy integer
    return np.int64(1) + np.sum(np.full(n_layers, kernel - 1))


def field_impulse(n_layers, kernel):  # spread an impulse, as the notebook's demonstration
    support = np.ones(1)
    for _ in range(n_layers):
        support = np.convolve(support, np.ones(kernel))
    return support.size


def field_no_centre(n_layers, kernel):
    return n_layers * (kernel - 1)


def field_n_times_k(n_layers, kernel):
    return n_layers * kernel


def field_power(n_layers, kernel):
    return kernel**n_layers


def field_three_by_three(n_layers, kernel):  # the deck's 3×3 case only
    return 2 * n_layers + 1


def field_one_too_many(n_layers, kernel):  # range(n_layers + 1)
    return (n_layers + 1) * (kernel - 1) + 1


def field_no_return(n_layers, kernel):
    n_layers * (kernel - 1) + 1


# --- conv_cost -----------------------------------------------------------------------------------


def cost_notebook(h, w, c_in, c_out, k, stride=1, padding="same", bias=True):
    if padding == "same":
        rows, cols = -(-h // stride), -(-w // stride)
    else:
        rows, cols = (h - k) // stride + 1, (w - k) // stride + 1
    parameters = k * k * c_in * c_out + (c_out if bias else 0)
    return parameters, rows * cols * k * k * c_in * c_out


def cost_pad_formula(h, w, c_in, c_out, k, stride=1, padding="same", bias=True):
    p = (k - 1) // 2 if padding == "same" else 0  # (W − F + 2P) / S + 1, odd kernels
    rows, cols = (h - k + 2 * p) // stride + 1, (w - k + 2 * p) // stride + 1
    weights = k * k * c_in * c_out
    return weights + c_out * bias, weights * rows * cols


def cost_keras(h, w, c_in, c_out, k, stride=1, padding="same", bias=True):
    layer = layers.Conv2D(c_out, k, strides=stride, padding=padding, use_bias=bias)
    layer.build((None, h, w, c_in))
    _, rows, cols, _ = layer.compute_output_shape((None, h, w, c_in))
    return layer.count_params(), rows * cols * int(np.prod(layer.kernel.shape))


def cost_ceil_numpy(h, w, c_in, c_out, k, stride=1, padding="same", bias=True):  # [p, m] list
    if padding == "same":
        size = np.ceil(np.array([h, w]) / stride)
    else:
        size = np.floor((np.array([h, w]) - k) / stride) + 1
    per_position = np.prod([k, k, c_in, c_out])
    return [per_position + (c_out if bias else 0), int(np.prod(size)) * per_position]


def cost_no_bias(h, w, c_in, c_out, k, stride=1, padding="same", bias=True):
    return k * k * c_in * c_out, cost_notebook(h, w, c_in, c_out, k, stride, padding)[1]


def cost_always_bias(h, w, c_in, c_out, k, stride=1, padding="same", bias=True):
    return k * k * c_in * c_out + c_out, cost_notebook(h, w, c_in, c_out, k, stride, padding)[1]


def cost_no_stride(h, w, c_in, c_out, k, stride=1, padding="same", bias=True):
    return cost_notebook(h, w, c_in, c_out, k, 1, padding, bias)[0], cost_notebook(
        h, w, c_in, c_out, k, 1, padding, bias
    )[1]


def cost_padding_swapped(h, w, c_in, c_out, k, stride=1, padding="same", bias=True):
    other = "valid" if padding == "same" else "same"
    return cost_notebook(h, w, c_in, c_out, k, stride, other, bias)


def cost_k_not_squared(h, w, c_in, c_out, k, stride=1, padding="same", bias=True):
    parameters, macs = cost_notebook(h, w, c_in, c_out, k, stride, padding, bias)
    return parameters, macs // k


def cost_square_image(h, w, c_in, c_out, k, stride=1, padding="same", bias=True):
    return cost_notebook(h, h, c_in, c_out, k, stride, padding, bias)


def cost_flops(h, w, c_in, c_out, k, stride=1, padding="same", bias=True):
    parameters, macs = cost_notebook(h, w, c_in, c_out, k, stride, padding, bias)
    return parameters, 2 * macs


def cost_bias_counted(h, w, c_in, c_out, k, stride=1, padding="same", bias=True):
    parameters, macs = cost_notebook(h, w, c_in, c_out, k, stride, padding, bias)
    return parameters, macs + (macs // (k * k * c_in) if bias else 0)


def cost_no_c_in(h, w, c_in, c_out, k, stride=1, padding="same", bias=True):
    parameters, macs = cost_notebook(h, w, 1, c_out, k, stride, padding, bias)
    return parameters, macs * c_in


def cost_swapped(h, w, c_in, c_out, k, stride=1, padding="same", bias=True):
    return cost_notebook(h, w, c_in, c_out, k, stride, padding, bias)[::-1]


def cost_valid_float(h, w, c_in, c_out, k, stride=1, padding="same", bias=True):
    if padding == "same":
        return cost_notebook(h, w, c_in, c_out, k, stride, padding, bias)
    rows, cols = (h - k) / stride + 1, (w - k) / stride + 1
    return k * k * c_in * c_out + c_out * bias, rows * cols * k * k * c_in * c_out


# --- residual_block ------------------------------------------------------------------------------


def block_notebook(x):
    channels = x.shape[-1]
    y = keras.layers.Conv2D(channels, 3, padding="same", activation="relu")(x)
    y = keras.layers.Conv2D(channels, 3, padding="same")(y)
    return keras.layers.ReLU()(keras.layers.Add()([y, x]))


def block_ops(x):  # separate ReLU, the + operator, keras.ops.relu
    y = layers.Conv2D(x.shape[-1], 3, padding="same")(x)
    y = layers.Conv2D(x.shape[-1], (3, 3), padding="same")(layers.ReLU()(y))
    return ops.relu(y + x)


def block_batch_norm(x):  # as in ResNet: conv → BN → ReLU → conv → BN, then add and ReLU
    c = x.shape[-1]
    y = layers.Conv2D(c, 3, padding="same", use_bias=False)(x)
    y = layers.Activation("relu")(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(c, 3, padding="same", use_bias=False)(y))
    return layers.Activation("relu")(layers.add([x, y]))


def block_after_relu(x):
    c = x.shape[-1]
    y = layers.Conv2D(c, 3, padding="same", activation="relu")(x)
    y = layers.Conv2D(c, 3, padding="same", activation="relu")(y)
    return layers.Add()([y, x])


def block_no_skip(x):
    c = x.shape[-1]
    y = layers.Conv2D(c, 3, padding="same", activation="relu")(x)
    return layers.Conv2D(c, 3, padding="same", activation="relu")(y)


def block_no_final_relu(x):
    c = x.shape[-1]
    y = layers.Conv2D(c, 3, padding="same", activation="relu")(x)
    return layers.Add()([layers.Conv2D(c, 3, padding="same")(y), x])


def block_no_middle_relu(x):
    c = x.shape[-1]
    y = layers.Conv2D(c, 3, padding="same")(layers.Conv2D(c, 3, padding="same")(x))
    return layers.ReLU()(layers.Add()([y, x]))


def block_relu_twice(x):  # activation="relu" in both convolutions, ReLU after the add too
    c = x.shape[-1]
    y = layers.Conv2D(c, 3, padding="same", activation="relu")(x)
    y = layers.Conv2D(c, 3, padding="same", activation="relu")(y)
    return layers.ReLU()(layers.Add()([y, x]))


def block_skip_from_middle(x):
    c = x.shape[-1]
    h = layers.Conv2D(c, 3, padding="same", activation="relu")(x)
    return layers.ReLU()(layers.Add()([layers.Conv2D(c, 3, padding="same")(h), h]))


def block_valid(x):
    c = x.shape[-1]
    y = layers.Conv2D(c, 3, activation="relu")(x)
    return layers.ReLU()(layers.Conv2D(c, 3)(y))


def block_fixed_filters(x):  # 64 filters whatever x has
    y = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    return layers.ReLU()(layers.Conv2D(64, 3, padding="same")(y))


# --- unfreeze_top -------------------------------------------------------------------------------


def unfreeze_notebook(backbone, first):  # the notebook's solution
    backbone.trainable = True
    for layer in backbone.layers:
        frozen_part = backbone.layers.index(layer) < first
        if frozen_part or isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def unfreeze_hint(backbone, first):  # the hint: enumerate
    backbone.trainable = True
    for i, layer in enumerate(backbone.layers):
        if i < first or isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def unfreeze_slices(backbone, first):
    backbone.trainable = True
    for layer in backbone.layers[:first]:
        layer.trainable = False
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def unfreeze_assign(backbone, first):  # one boolean per layer
    backbone.trainable = True
    for i, layer in enumerate(backbone.layers):
        layer.trainable = i >= first and not isinstance(layer, layers.BatchNormalization)


def unfreeze_freeze_then_thaw(backbone, first):  # freeze all, then unfreeze the top
    backbone.trainable = True
    for layer in backbone.layers:
        layer.trainable = False
    for layer in backbone.layers[first:]:
        if not isinstance(layer, layers.BatchNormalization):
            layer.trainable = True


def unfreeze_bn_trainable(backbone, first):
    backbone.trainable = True
    for layer in backbone.layers[:first]:
        layer.trainable = False


def unfreeze_after_first(backbone, first):  # i > first: layer `first` stays frozen
    backbone.trainable = True
    for i, layer in enumerate(backbone.layers):
        if i <= first or isinstance(layer, layers.BatchNormalization):
            layer.trainable = False


def unfreeze_one_early(backbone, first):  # layers[:first - 1]
    backbone.trainable = True
    for layer in backbone.layers[: first - 1]:
        layer.trainable = False
    for layer in backbone.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False


def unfreeze_layers_only(backbone, first):  # never sets backbone.trainable = True
    for layer in backbone.layers[first:]:
        if not isinstance(layer, layers.BatchNormalization):
            layer.trainable = True


def unfreeze_backbone_last(backbone, first):  # backbone.trainable = True undoes the loop
    for i, layer in enumerate(backbone.layers):
        if i < first or isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
    backbone.trainable = True


def unfreeze_everything(backbone, first):
    backbone.trainable = True


def unfreeze_from_the_end(backbone, first):  # the last `first` layers
    backbone.trainable = True
    for layer in backbone.layers[:-first]:
        layer.trainable = False
    for layer in backbone.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False


# --- class_activation_map ---------------------------------------------------------------------


def cam_notebook(features, kernel, predicted):
    sign = np.where(predicted == 1, 1.0, -1.0)
    return np.einsum("nyxk,nk->nyx", features, sign[:, None] * kernel[:, 0][None, :])


def cam_hint(features, kernel, predicted):
    sign = np.where(predicted == 1, 1.0, -1.0)
    w = kernel[:, 0]
    return np.einsum("nyxk,nk->nyx", features, sign[:, None] * w)


def cam_loops(features, kernel, predicted):
    N, h, w, K = features.shape
    out = np.zeros((N, h, w))
    for n in range(N):
        sign = 1 if predicted[n] == 1 else -1
        for k in range(K):
            out[n] += sign * kernel[k, 0] * features[n, :, :, k]
    return out


def cam_matmul_f64(features, kernel, predicted):  # float64, (2p − 1) as the sign
    maps = features.astype("float64") @ kernel[:, 0].astype("float64")
    return maps * (2 * predicted - 1)[:, None, None]


def cam_keras(features, kernel, predicted):  # a tensor
    sign = ops.where(ops.equal(predicted, 1), 1.0, -1.0)
    maps = ops.tensordot(
        ops.convert_to_tensor(features), ops.convert_to_tensor(kernel[:, 0]), axes=1
    )
    return maps * sign[:, None, None]


def cam_no_sign(features, kernel, predicted):
    return np.einsum("nyxk,k->nyx", features, kernel[:, 0])


def cam_reversed(features, kernel, predicted):
    return -cam_notebook(features, kernel, predicted)


def cam_predicted_as_sign(features, kernel, predicted):  # 0 for a cat
    return np.einsum("nyxk,k->nyx", features, kernel[:, 0]) * predicted[:, None, None]


def cam_plain_mean(features, kernel, predicted):  # forgets the weights
    return features.mean(axis=-1) * np.where(predicted == 1, 1.0, -1.0)[:, None, None]


def cam_mean_over_k(features, kernel, predicted):
    return (features * kernel[:, 0]).mean(axis=-1) * np.where(predicted == 1, 1, -1)[:, None, None]


def cam_wrong_axis(features, kernel, predicted):  # sums over y, not k
    sign = np.where(predicted == 1, 1.0, -1.0)[:, None, None]
    return (features * kernel[:, 0]).sum(axis=1) * sign


def cam_kernel_shape(features, kernel, predicted):  # keeps the (K, 1) kernel: (N, h, w, 1)
    return (features @ kernel) * np.where(predicted == 1, 1.0, -1.0)[:, None, None, None]


def cam_in_place(features, kernel, predicted):
    features *= kernel[:, 0]
    return features.sum(axis=-1) * np.where(predicted == 1, 1.0, -1.0)[:, None, None]


def cam_no_return(features, kernel, predicted):
    cam_notebook(features, kernel, predicted)


# --- grad_cam_map ----------------------------------------------------------------------------


def gradcam_notebook(features, gradients):
    alpha = gradients.mean(axis=(1, 2))
    return np.maximum(0, np.einsum("nyxk,nk->nyx", features, alpha))


def gradcam_loops(features, gradients):
    N, h, w, K = features.shape
    out = np.zeros((N, h, w))
    for n in range(N):
        for k in range(K):
            out[n] += gradients[n, :, :, k].sum() / (h * w) * features[n, :, :, k]
    return np.where(out > 0, out, 0)


def gradcam_keras(features, gradients):  # a tensor
    alpha = ops.mean(ops.convert_to_tensor(gradients), axis=(1, 2))
    return ops.relu(ops.einsum("nyxk,nk->nyx", ops.convert_to_tensor(features), alpha))


def gradcam_per_image_f64(features, gradients):  # float64, one image at a time
    maps = []
    for A, G in zip(features.astype("float64"), gradients.astype("float64")):
        maps.append(np.clip(np.tensordot(A, G.mean(axis=(0, 1)), axes=1), 0, None))
    return np.stack(maps)


def gradcam_no_relu(features, gradients):
    return np.einsum("nyxk,nk->nyx", features, gradients.mean(axis=(1, 2)))


def gradcam_sum(features, gradients):
    return np.maximum(0, np.einsum("nyxk,nk->nyx", features, gradients.sum(axis=(1, 2))))


def gradcam_per_position(features, gradients):
    return np.maximum(0, (features * gradients).sum(axis=-1))


def gradcam_images_too(features, gradients):
    return np.maximum(0, np.einsum("nyxk,k->nyx", features, gradients.mean(axis=(0, 1, 2))))


def gradcam_swapped(features, gradients):
    return gradcam_notebook(gradients, features)


def gradcam_relu_on_alpha(features, gradients):
    alpha = np.maximum(0, gradients.mean(axis=(1, 2)))
    return np.einsum("nyxk,nk->nyx", features, alpha)


def gradcam_normalized(features, gradients):
    cam = gradcam_notebook(features, gradients)
    return cam / cam.max(axis=(1, 2), keepdims=True)


def gradcam_in_place(features, gradients):
    gradients /= gradients.shape[1] * gradients.shape[2]
    return np.maximum(0, np.einsum("nyxk,nk->nyx", features, gradients.sum(axis=(1, 2))))


def gradcam_no_return(features, gradients):
    gradcam_notebook(features, gradients)


CASES = {
    "receptive_field": Case(
        run=check.receptive_field,
        right=[field_notebook, field_loop, field_numpy, field_impulse],
        wrong=[
            Wrong(field_no_centre, r"off by one: count the centre", "n(k − 1)"),
            Wrong(field_n_times_k, r"windows overlap.*k − 1 pixels, not k", "n·k"),
            Wrong(field_power, r"does not multiply", "k ** n"),
            Wrong(field_three_by_three, r"only for 3 × 3 kernels", "2n + 1"),
            Wrong(field_one_too_many, r"one layer too many", "(n + 1)(k − 1) + 1"),
            Wrong(field_no_return, r"returned None", "no return"),
        ],
    ),
    "conv_cost": Case(
        run=check.conv_cost,
        right=[cost_notebook, cost_pad_formula, cost_keras, cost_ceil_numpy],
        wrong=[
            Wrong(cost_no_bias, r"biases are missing", "bias forgotten"),
            Wrong(cost_always_bias, r"bias=False: no biases", "bias argument ignored"),
            Wrong(cost_no_stride, r"stride is ignored", "stride ignored"),
            Wrong(cost_padding_swapped, r"output size for padding 'valid'", "same/valid swapped"),
            Wrong(cost_k_not_squared, r"k·k·c_in multiply-adds, not k·c_in", "k, not k²"),
            Wrong(cost_square_image, r"not square", "h for both sides"),
            Wrong(cost_flops, r"not FLOPs", "2 × multiply-adds"),
            Wrong(cost_bias_counted, r"bias is an addition", "bias counted as a multiply-add"),
            Wrong(cost_no_c_in, r"spans all c_in input channels", "c_in forgotten"),
            Wrong(cost_swapped, r"in that order", "(multiply-adds, parameters)"),
            Wrong(cost_valid_float, r"not a whole number", "/ instead of //"),
        ],
    ),
    "residual_block": Case(
        run=check.residual_block,
        right=[block_notebook, block_ops, block_batch_norm],
        wrong=[
            Wrong(block_after_relu, r"added after the last ReLU", "ReLU(F(x)) + x"),
            Wrong(block_no_skip, r"skip connection is missing", "no + x"),
            Wrong(block_no_final_relu, r"no ReLU after the addition", "F(x) + x"),
            Wrong(block_no_middle_relu, r"no ReLU between", "conv(conv(x))"),
            Wrong(block_relu_twice, r"ReLU built in", "activation='relu' in the second conv"),
            Wrong(block_skip_from_middle, r"skip starts after the first", "adds h, not x"),
            Wrong(block_valid, r"keep x's shape", "padding 'valid'"),
            Wrong(block_fixed_filters, r"keep x's shape", "64 filters"),
        ],
    ),
    "unfreeze_top": Case(
        run=check.unfreeze_top,
        right=[
            unfreeze_notebook,
            unfreeze_hint,
            unfreeze_slices,
            unfreeze_assign,
            unfreeze_freeze_then_thaw,
        ],
        wrong=[
            Wrong(unfreeze_bn_trainable, r"keep BatchNormalization frozen", "BN left trainable"),
            Wrong(unfreeze_after_first, r"off by one.*layer 2 itself", "i > first"),
            Wrong(unfreeze_one_early, r"off by one.*before index first", "layers[:first - 1]"),
            Wrong(
                unfreeze_layers_only,
                r"still frozen.*backbone\.trainable = True first",
                "backbone.trainable never set",
            ),
            Wrong(
                unfreeze_backbone_last,
                r"every layer learns.*set it first",
                "backbone.trainable = True after the loop",
            ),
            Wrong(unfreeze_everything, r"stay frozen", "only backbone.trainable = True"),
            Wrong(
                unfreeze_from_the_end,
                r"before index first=\d+ stay frozen|from index first",
                "layers[:-first]",
            ),
        ],
    ),
    "class_activation_map": Case(
        run=check.class_activation_map,
        right=[cam_notebook, cam_hint, cam_loops, cam_matmul_f64, cam_keras],
        wrong=[
            Wrong(cam_no_sign, r"predicted cat .*wrong sign", "no sign"),
            Wrong(cam_reversed, r"signs are reversed", "−w for a dog"),
            Wrong(cam_predicted_as_sign, r"all zeros: its sign is −1, not 0", "sign = predicted"),
            Wrong(
                cam_plain_mean,
                r"not multiplied by the dense layer's weights.*plain mean",
                "plain mean of the maps",
            ),
            Wrong(cam_mean_over_k, r"divided by the number of channels", "mean over k"),
            Wrong(cam_wrong_axis, r"summed over axis 1 instead of the channels", "axis=1"),
            Wrong(cam_kernel_shape, r"w = kernel\[:, 0\]", "(N, h, w, 1)"),
            Wrong(cam_in_place, r"changed its input `features` in place", "features *= w"),
            Wrong(cam_no_return, r"returned None", "no return"),
        ],
    ),
    "grad_cam_map": Case(
        run=check.grad_cam_map,
        right=[gradcam_notebook, gradcam_loops, gradcam_keras, gradcam_per_image_f64],
        wrong=[
            Wrong(gradcam_no_relu, r"negative values.*ReLU", "no ReLU"),
            Wrong(gradcam_sum, r"summed the gradients.*mean", "sum, not mean"),
            Wrong(gradcam_per_position, r"no spatial mean", "gradient per position"),
            Wrong(gradcam_images_too, r"averaged over the images too", "mean over n too"),
            Wrong(gradcam_swapped, r"features and gradients are swapped", "A and G swapped"),
            Wrong(gradcam_relu_on_alpha, r"ReLU goes on the weighted sum", "ReLU(α)"),
            Wrong(gradcam_normalized, r"not normalized here", "divided by the maximum"),
            Wrong(gradcam_in_place, r"changed its input `gradients` in place", "gradients /= hw"),
            Wrong(gradcam_no_return, r"returned None", "no return"),
        ],
    ),
}
