"""A wrong output size, explained with the case's own numbers instead of a guess.

When a convolution's output has the wrong shape, the message shows the output-size formula
evaluated per axis with this case's sizes, beside the size the student produced; it names a
cause only when the numbers prove it (the student's size is exactly what that cause gives).
"""
from __future__ import annotations


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _yours(g) -> str:
    return "" if g is None else f", yours has {g}"


def conv2d(in_hw, kernel_hw, got_hw, stride=1, padding=0, dilation=1) -> str:
    """conv2d: out = (in + 2*padding - dilation*(kernel - 1) - 1) // stride + 1, per axis.
    got_hw None: torch's size alone (student code raised before it had an output)."""
    got_hw = (None, None) if got_hw is None else got_hw
    if padding in ("same", "valid"):
        lines = []
        for axis, i, k, d, g in zip(("rows", "columns"), in_hw, kernel_hw, _pair(dilation), got_hw):
            if padding == "valid":
                lines.append(f"{axis}: 'valid' is {i} - {d}*({k}-1) = {i - d * (k - 1)}{_yours(g)}")
                continue
            total = d * (k - 1)
            before, after = total // 2, total - total // 2
            text = (f"{axis}: 'same' keeps the input's {i}: total padding {d}*({k}-1) = {total}, "
                    f"{before} before and {after} after{_yours(g)}")
            if g is not None and g != i and g == i - total:
                text += f" (what no padding gives: {i} - {total} = {g})"
            elif g is not None and g != i and before != after:
                for even in (before, after):  # an odd total split evenly: one row too few or too many
                    if g == i + 2 * even - total:
                        text += f" (what {even} on both sides gives: {i} + 2*{even} - {total} = {g})"
            lines.append(text)
        return "; ".join(lines)
    parts = []
    axes = list(zip(("rows", "columns"), in_hw, kernel_hw, _pair(stride), _pair(padding), _pair(dilation), got_hw))
    size = lambda i, k, s, p, d: (i + 2 * p - d * (k - 1) - 1) // s + 1  # noqa: E731
    # each axis got the other's padding: proven only when both sizes are exactly that, and wrong
    swapped = axes[0][4] != axes[1][4] and all(
        g is not None and g == size(i, k, s, other[4], d)
        for (_, i, k, s, _, d, g), other in zip(axes, reversed(axes)))
    for (axis, i, k, s, p, d, g), other in zip(axes, reversed(axes)):
        out = size(i, k, s, p, d)
        text = f"{axis}: ({i} + 2*{p} - {d}*({k}-1) - 1) // {s} + 1 = {out}{_yours(g)}"
        if swapped and g != out:
            text += f" (what the formula gives with the {other[0]}' padding, {other[4]})"
        elif g is not None and g != out:
            for cause, wrong in (("without the stride", i + 2 * p - d * (k - 1)),
                                 ("without the padding", (i - d * (k - 1) - 1) // s + 1),
                                 ("without the dilation", (i + 2 * p - (k - 1) - 1) // s + 1)):
                if g == wrong and wrong != out:
                    text += f" (what the formula gives {cause})"
                    break
        parts.append(text)
    swap_note = ("; each axis got the other's padding: F.pad's list starts with the last axis, "
                 "(left, right, top, bottom)") if swapped else ""
    return "out = (in + 2*padding - dilation*(kernel - 1) - 1) // stride + 1 per axis: " + "; ".join(parts) + swap_note


def conv_transpose2d(in_hw, kernel_hw, got_hw, stride=1, padding=0, output_padding=0, dilation=1) -> str:
    """out = (in - 1)*stride - 2*padding + dilation*(kernel - 1) + output_padding + 1, per axis."""
    parts = []
    for axis, i, k, s, p, op, d, g in zip(("rows", "columns"), in_hw, kernel_hw, _pair(stride), _pair(padding),
                                          _pair(output_padding), _pair(dilation), got_hw):
        out = (i - 1) * s - 2 * p + d * (k - 1) + op + 1
        text = f"{axis}: ({i}-1)*{s} - 2*{p} + {d}*({k}-1) + {op} + 1 = {out}, yours has {g}"
        if g != out:
            for cause, wrong in (("with padding added instead of cropped", out + 4 * p),
                                 ("without the output_padding", out - op),
                                 ("without the padding", out + 2 * p),
                                 ("without the stride", out - (i - 1) * (s - 1)),
                                 ("without the dilation", out - (d - 1) * (k - 1))):
                if g == wrong and wrong != out:
                    text += f" (what the formula gives {cause})"
                    break
        parts.append(text)
    return ("out = (in - 1)*stride - 2*padding + dilation*(kernel - 1) + output_padding + 1 per axis: "
            + "; ".join(parts))


def conv2d_grad_input(grad_output_hw, kernel_hw, input_hw, got_hw, stride=1, padding=0, dilation=1) -> str:
    """grad_input has the input's shape; a transposed convolution of grad_output reaches it with
    output_padding = in - ((out - 1)*stride - 2*padding + dilation*(kernel - 1) + 1), per axis."""
    parts = []
    for axis, o, k, i, s, p, d, g in zip(("rows", "columns"), grad_output_hw, kernel_hw, input_hw, _pair(stride),
                                         _pair(padding), _pair(dilation), got_hw):
        base = (o - 1) * s - 2 * p + d * (k - 1) + 1
        text = f"{axis}: the input has {i}, yours has {g}; ({o}-1)*{s} - 2*{p} + {d}*({k}-1) + 1 = {base}"
        if i != base:
            text += f", so output_padding = {i} - {base} = {i - base} (the {axis} the stride skipped)"
        if g == base and i != base:
            text += "; yours is that size without the output_padding"
        parts.append(text)
    return "grad_input must have the input's shape. " + "; ".join(parts)
