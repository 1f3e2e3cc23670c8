"""The catalog of known mistakes in these exercises.

When an answer is wrong, a grading test computes what each mistake that fits its exercise
would have produced on the same case (with torch) and hands those to compare.expect_close;
the first one the answer matches is named, with why it is wrong and the rule that fixes it.
The kit's own tests give the grader a wrong implementation for every entry and check that
its name comes back (tests/kit/wrong_implementations.py).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Misconception:
    name: str
    why: str
    fix: str


CATALOG = {
    # forward and losses
    "weight_not_transposed": Misconception(
        "a weight that is not transposed", "nn.Linear's weight is (out_features, in_features).",
        "y = x @ weight.T + bias"),
    "mlp_without_relu": Misconception(
        "an MLP without its relu", "without the nonlinearity between them, two linear layers are one linear map: "
        "the model computes linear(linear(x)).", "out = linear(relu(linear(x, w1, b1)), w2, b2)"),
    "bias_ignored": Misconception("a missing bias", "the bias is added to every output row.",
                                  "y = x @ weight.T + bias when bias is not None"),
    "mm_2d_only": Misconception(
        "a matrix product that takes only 2-D input", "x may have any number of leading dimensions, or none "
        "(here it is not 2-D), and torch.mm and torch.addmm take matrices only.",
        "y = x @ weight.T + bias: @ (torch.matmul) works over any leading dimensions"),
    "sum_vs_mean": Misconception(
        "a sum where torch takes the mean", "torch's default reduction='mean' averages: MSE over every "
        "element, cross entropy over the batch, and so the gradients carry the same 1/N.",
        "loss = per_element_or_per_row.mean(); gradient sums stay sums, divided where the loss divides"),
    "exp_overflow": Misconception(
        "exp() of large logits overflowing", "exp(1000) is inf in any float type, so softmax becomes nan.",
        "subtract each row's maximum first: logsumexp(z) = m + log(sum(exp(z - m))), m = max(z)"),
    "log_softmax_underflow": Misconception(
        "log(softmax) underflowing", "with large logits a probability can be smaller than the smallest float: "
        "softmax rounds it to 0, and log(0) = -inf.",
        "never take the log of a probability: log_probs = s - log(sum(exp(s))) with s = z - max(z) per row"),
    # backward
    "relu_grad_at_zero": Misconception(
        "ReLU's gradient at exactly 0", "torch passes no gradient where x == 0.",
        "grad_input = grad_output * (x > 0), a strict inequality"),
    "mse_factor_2": Misconception("the missing factor 2 of MSE", "d/dx (x - t)^2 = 2 (x - t).",
                                  "grad = 2 * (input - target) / input.numel()"),
    "grad_not_averaged": Misconception(
        "a cross-entropy gradient not divided by N", "the loss is a mean over the batch, so is its gradient.",
        "grad = (softmax(input) - one_hot(target)) / N"),
    "grad_bias_not_summed": Misconception(
        "grad_bias not summed over the batch", "the same bias is used for every row, so its gradient "
        "adds up over all of them.", "grad_bias = grad_output summed over every leading dimension"),
    "grad_weight_transposed": Misconception(
        "grad_weight transposed", "weight is (out_features, in_features), and its gradient has its shape: "
        "x.T @ grad_output is (in_features, out_features).",
        "grad_weight = grad_output.T @ x, with every leading dimension flattened into the rows of both"),
    "grad_bias_wrong_axis": Misconception(
        "grad_bias summed over the wrong axis", "the bias has one value per output feature, the last axis of "
        "grad_output; its gradient adds grad_output up over every other axis.",
        "grad_bias = grad_output.reshape(-1, out_features).sum(0)"),
    "grad_bias_mean": Misconception(
        "grad_bias averaged where torch sums", "every row adds the same bias, so its gradient is the sum of "
        "grad_output over every leading (batch) dimension; a 1/N belongs to the loss's gradient, not here.",
        "grad_bias = grad_output.reshape(-1, out_features).sum(0)"),
    "grad_overwritten": Misconception(
        "overwriting .grad instead of accumulating", "loss.backward() ADDS into an existing .grad.",
        "p.grad = g if p.grad is None else p.grad + g"),
    # optimizer
    "set_to_none_ignored": Misconception(
        "set_to_none ignored", "zero_grad(set_to_none=False) keeps the gradient tensors and zeroes them.",
        "if set_to_none: p.grad = None, else: p.grad.zero_()"),
    "first_momentum_step": Misconception(
        "the first momentum buffer", "on a parameter's first step torch sets the buffer to the gradient "
        "itself: no dampening, no decay of a zero buffer.",
        "buf = g.clone() on the first step, then buf = momentum * buf + (1 - dampening) * g"),
    "nesterov_formula": Misconception("the Nesterov formula", "Nesterov looks ahead along the buffer.",
                                      "after updating buf: g = g + momentum * buf"),
    "weight_decay_place": Misconception(
        "weight decay in the wrong place", "torch adds weight decay to the gradient before the momentum "
        "buffer sees it.", "g = g + weight_decay * p first, then the momentum update"),
    "maximize_ignored": Misconception("maximize ignored", "maximize=True climbs the gradient.",
                                      "start from g = -p.grad when maximize"),
    "zero_grad_placement": Misconception(
        "zero_grad in the wrong place", "gradients from before the loop or from the previous batch were "
        "added into this batch's.", "call optimizer.zero_grad() in every batch, before model.backward(...)"),
    # convolutions
    "flipped_kernel": Misconception(
        "a flipped kernel", "torch's conv2d is a cross-correlation: the kernel is used as it is.",
        "out[i, j] += x[i*stride + u*dilation, j*stride + v*dilation] * weight[u, v]"),
    "flipped_kernel_transpose": Misconception(
        "a flipped kernel", "torch's conv_transpose2d scatters each input cell through the kernel as it is.",
        "out[i*stride + u*dilation, j*stride + v*dilation] += x[i, j] * weight[u, v]"),
    "flipped_kernel_grad_weight": Misconception(
        "a flipped kernel in grad_weight", "each tap's gradient pairs it with the input cells that tap "
        "read in the forward pass: no flip.",
        "grad_weight[o, c, u, v] = sum over n, i, j of grad_output[n, o, i, j] * "
        "x_padded[n, c, i*stride + u*dilation, j*stride + v*dilation]"),
    "dilation_ignored_grad_weight": Misconception(
        "the dilation missing from grad_weight's index", "in the forward pass tap (u, v) read input cells "
        "dilation apart, so its gradient pairs grad_output with those same cells.",
        "grad_weight[o, c, u, v] = sum over n, i, j of grad_output[n, o, i, j] * "
        "x_padded[n, c, i*stride + u*dilation, j*stride + v*dilation]"),
    "mean_vs_sum": Misconception(
        "a mean where torch sums", "every output element adds the bias once, so the bias's gradient is "
        "the sum of grad_output over the batch and every position.", "grad_bias = grad_output.sum(dim=(0, 2, 3))"),
    "stride_ignored": Misconception(
        "the stride missing from the index and the output size", "output cell i reads input rows from i*stride "
        "on, so there are (in + 2*padding - dilation*(kernel - 1) - 1) // stride + 1 output rows.",
        "input row = i*stride + u*dilation, and that many output rows (columns alike)"),
    "stride_ignored_index": Misconception(
        "the stride missing from an index", "your output has the right size, but output cell i reads input rows "
        "from i*stride on.", "input row = i*stride + u*dilation (columns alike)"),
    "dilation_ignored": Misconception(
        "the dilation missing from the index and the kernel's extent", "kernel taps are dilation apart, so the "
        "kernel spans dilation*(kernel - 1) + 1 input rows: that extent sets the output size, and the total "
        "padding of padding='same'.",
        "input row = i*stride + u*dilation; out = (in + 2*padding - dilation*(kernel - 1) - 1) // stride + 1; "
        "'same' pads dilation*(kernel - 1) in all (columns alike)"),
    "dilation_ignored_index": Misconception(
        "the dilation missing from an index", "your output has the right size, but kernel taps are dilation "
        "apart.", "input row = i*stride + u*dilation (columns alike)"),
    "groups_ignored": Misconception(
        "groups ignored", "with groups=g, the output channels of group k read only that group's c_in/g input "
        "channels (weight has c_in/g input channels); yours adds every input channel, as a weight broadcast or "
        "repeated over all of them does.",
        "for each group k: out[:, k*c_out/g:(k+1)*c_out/g] = the convolution of x[:, k*c_in/g:(k+1)*c_in/g] "
        "with weight[k*c_out/g:(k+1)*c_out/g]"),
    "same_padding_side": Misconception(
        "'same' padding on the wrong side", "when the total padding dilation*(kernel - 1) is odd, torch puts "
        "the extra row and column at the end.", "top = total // 2, bottom = total - top (left/right alike)"),
    "transpose_padding_adds": Misconception(
        "padding added instead of cropped", "in a transposed convolution, padding removes rows and columns "
        "from the full scattered output.", "out = full[padding : full_size - padding] on each axis"),
    "stride_ignored_transpose": Misconception(
        "the stride missing", "input cell r scatters its patch from output row r*stride on, so the full grid has "
        "(in - 1)*stride + dilation*(kernel - 1) + 1 + output_padding rows.",
        "out[r*stride + u*dilation, ...] += x[r, ...] * weight[u, ...] (columns alike), in a grid of that size"),
    "output_padding_ignored": Misconception(
        "output_padding's rows missing from the end", "output_padding keeps that many more rows/columns at the "
        "bottom/right, past every patch (zeros, plus the bias): they exist only if the full grid is allocated "
        "with them. Left out, or sliced for past the end of a grid without them (a slice silently stops at "
        "the end), they are missing.",
        "allocate the full grid with (in - 1)*stride + dilation*(kernel - 1) + 1 + output_padding rows (columns "
        "alike), then out = full[padding : rows - padding]"),
    "transpose_arg_order": Misconception(
        "dilation and groups swapped", "F.conv_transpose2d takes (..., output_padding, groups, dilation): "
        "groups comes before dilation, unlike F.conv2d.",
        "def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1)"),
    # the cnn capstone: wiring
    "flatten_order": Misconception(
        "a flatten in another order than nn.Flatten", "nn.Flatten keeps the (channel, row, column) order of "
        "the (N, C, H, W) tensor: linear feature k is channel k // (H*W), row k // W % H, column k % W.",
        "flat = a2.reshape(N, -1) on the (N, C, H, W) tensor; on the way back grad_flat.reshape(a2.shape)"),
    "relu_backward_skipped": Misconception(
        "a ReLU skipped in the backward pass", "the forward pass zeroed every negative pre-activation, so no "
        "gradient flows back through those cells.",
        "after each layer's backward, grad_h = relu_backward(grad_a, h), h the pre-activation forward kept"),
    # adam
    "adam_bias_correction": Misconception(
        "Adam without bias correction", "m and v start at zero, so in the first steps they are too small by "
        "the factors 1 - beta1**t and 1 - beta2**t; torch divides those out (t: the parameter's own step count).",
        "m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t), p -= lr * m_hat / (sqrt(v_hat) + eps)"),
    "adam_shared_step": Misconception(
        "one step count for every parameter", "torch counts steps per parameter: a parameter whose .grad was "
        "None was not stepped, so its t -- and its bias correction -- lags behind the others'.",
        "keep t in each parameter's own state, and t += 1 only when that parameter is updated"),
    "adamw_l2_decay": Misconception(
        "AdamW's weight decay added to the gradient", "AdamW decouples weight decay: it shrinks the parameter "
        "itself, and m and v never see it (adding it to the gradient is Adam's L2 decay).",
        "before the Adam update: p *= 1 - lr * weight_decay; m and v get the plain gradient"),
    "adam_decoupled_decay": Misconception(
        "Adam's weight decay decoupled", "torch.optim.Adam's weight_decay is L2: it is added to the gradient, "
        "so m and v see it (shrinking the parameter directly is what AdamW does).",
        "g = g + weight_decay * p, before m and v are updated"),
    "adam_eps_place": Misconception(
        "eps in the wrong place", "torch adds eps outside the square root, after the bias correction.",
        "denominator = sqrt(v / (1 - beta2**t)) + eps"),
}
