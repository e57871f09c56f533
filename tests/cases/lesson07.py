"""Right and wrong answers to notebook 07's exercises (fine-tuning, CAM, Grad-CAM)."""

import keras
import numpy as np
from keras import layers, ops

from dl_vision_labs import check
from tests.cases import Case, Wrong

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
