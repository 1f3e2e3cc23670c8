"""python grader.py --explain conv2d|conv_transpose2d [--size N --kernel K --stride S --padding P
--dilation D --output-padding A] [--png PATH]: see a convolution's index arithmetic.

conv2d: which input cells feed each output cell. conv_transpose2d: where each input cell's
kernel-shaped patch lands, what padding crops and what output_padding adds. Both with the
output-size formula filled in. The maps are plain data (gather_map, scatter_map), so the
kit's tests check them against F.conv2d and F.conv_transpose2d; --png draws them
(matplotlib: pip install -e ".[plot]").
"""
from dataclasses import dataclass

from . import messages as M


@dataclass(frozen=True)
class Geometry:
    size: int = 4
    kernel: int = 3
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    output_padding: int = 0


def conv_out(g):
    return (g.size + 2 * g.padding - g.dilation * (g.kernel - 1) - 1) // g.stride + 1


def transpose_full(g):
    return (g.size - 1) * g.stride + g.dilation * (g.kernel - 1) + 1 + g.output_padding


def transpose_out(g):
    return (g.size - 1) * g.stride - 2 * g.padding + g.dilation * (g.kernel - 1) + g.output_padding + 1


def check(op, g):
    """A sentence saying why torch would refuse this geometry, or None."""
    if min(g.size, g.kernel, g.stride, g.dilation) < 1 or min(g.padding, g.output_padding) < 0:
        return "size, kernel, stride and dilation must be at least 1; padding and output padding at least 0"
    if op == "conv2d" and conv_out(g) < 1:
        return f"the padded input ({g.size} + 2*{g.padding}) is smaller than the dilated kernel"
    if op == "conv_transpose2d":
        if g.output_padding >= max(g.stride, g.dilation):
            return "output_padding must be smaller than stride or dilation"
        if transpose_out(g) < 1:
            return "padding crops away the whole output"
    if op == "conv2d" and g.output_padding:
        return "output_padding belongs to conv_transpose2d"
    return None


def gather_map(g):
    """conv2d: {(out_i, out_j): [((in_r, in_c) or None for padding, (u, v)), ...]}."""
    result = {}
    n = conv_out(g)
    for i in range(n):
        for j in range(n):
            taps = []
            for u in range(g.kernel):
                for v in range(g.kernel):
                    r = i * g.stride + u * g.dilation - g.padding
                    c = j * g.stride + v * g.dilation - g.padding
                    inside = 0 <= r < g.size and 0 <= c < g.size
                    taps.append(((r, c) if inside else None, (u, v)))
            result[(i, j)] = taps
    return result


def scatter_map(g):
    """conv_transpose2d: {(in_r, in_c): [((out_i, out_j) or None if cropped, (u, v)), ...]}."""
    result = {}
    n = transpose_out(g)
    for r in range(g.size):
        for c in range(g.size):
            taps = []
            for u in range(g.kernel):
                for v in range(g.kernel):
                    i = r * g.stride + u * g.dilation - g.padding
                    j = c * g.stride + v * g.dilation - g.padding
                    taps.append(((i, j) if 0 <= i < n and 0 <= j < n else None, (u, v)))
            result[(r, c)] = taps
    return result


def read_counts(g):
    """conv2d: how many output cells read each cell of the padded input, padding cells included:
    a (size + 2*padding) square, the input at [padding : padding + size] on each axis."""
    side = g.size + 2 * g.padding
    counts = [[0] * side for _ in range(side)]
    n = conv_out(g)
    for i in range(n):
        for j in range(n):
            for u in range(g.kernel):
                for v in range(g.kernel):
                    counts[i * g.stride + u * g.dilation][j * g.stride + v * g.dilation] += 1
    return counts


def is_input(g, a, b):
    """conv2d: whether cell (a, b) of the padded input is the input itself (else padding)."""
    return g.padding <= a < g.padding + g.size and g.padding <= b < g.padding + g.size


def padding_reads(g):
    """conv2d: how many taps in all read a padding zero."""
    counts = read_counts(g)
    return sum(c for a, row in enumerate(counts) for b, c in enumerate(row) if not is_input(g, a, b))


def patch_counts(g):
    """conv_transpose2d: how many patches add into each cell of the full (uncropped) grid."""
    full = transpose_full(g)
    counts = [[0] * full for _ in range(full)]
    for r in range(g.size):
        for c in range(g.size):
            for u in range(g.kernel):
                for v in range(g.kernel):
                    counts[r * g.stride + u * g.dilation][c * g.stride + v * g.dilation] += 1
    return counts


def cell_width(counts):
    """Characters a count takes in a text picture (its cells line up: 10 or more reads happen)."""
    return max(1, *(len(str(c)) for row in counts for c in row))


def _describe(g, op):
    words = f"a {g.size}x{g.size} input, {g.kernel}x{g.kernel} kernel, stride {g.stride}, padding {g.padding}, " \
            f"dilation {g.dilation}"
    return words + (f", output_padding {g.output_padding}" if op == "conv_transpose2d" else "")


def explain_conv2d(g):
    n = conv_out(g)
    lines = [f"conv2d on {_describe(g, 'conv2d')} (each axis alike)", "",
             "Output size = (in + 2*padding - dilation*(kernel - 1) - 1) // stride + 1",
             f"            = ({g.size} + 2*{g.padding} - {g.dilation}*({g.kernel} - 1) - 1) // {g.stride} + 1 = {n}",
             "", "Each output cell is a dot product of the kernel with the input cells under it "
             "(no flip; padding cells are zeros):"]
    for (i, j), taps in gather_map(g).items():
        terms = [f"x[{r},{c}]*w[{u},{v}]" for cell, (u, v) in taps if cell for r, c in [cell]]
        zeros = sum(cell is None for cell, _ in taps)
        tail = f"  (+{zeros} taps on padding zeros)" if zeros else ""
        lines.append(f"  out[{i},{j}] = " + (" + ".join(terms) or "0") + tail)
    counts = read_counts(g)
    side = len(counts)
    lines += ["", "How many output cells read each cell of the padded input (. = none; [ ] = the input, "
              "the rest padding zeros):"]
    w = cell_width(counts)
    for a in range(side):
        lines.append("  " + "".join((f"[{counts[a][b] or '.':>{w}}]" if is_input(g, a, b) else
                                     f" {counts[a][b] or '.':>{w}} ") for b in range(side)))
    lines.append(f"  reads of padding zeros: {padding_reads(g)} in all, the taps on padding zeros above")
    skipped = (g.size + 2 * g.padding - g.dilation * (g.kernel - 1) - 1) % g.stride
    lines += ["", "Its gradient: grad_input = conv_transpose2d(grad_output, weight, stride, padding,",
              f"  output_padding={skipped}, dilation) -- every output cell sends its gradient back along the "
              "same taps;",
              f"  output_padding = ({g.size} + 2*{g.padding} - {g.dilation}*({g.kernel} - 1) - 1) % {g.stride} = "
              f"{skipped} restores the last rows the stride skipped."]
    return "\n".join(lines)


def explain_conv_transpose2d(g):
    full, n = transpose_full(g), transpose_out(g)
    lines = [f"conv_transpose2d on {_describe(g, 'conv_transpose2d')} (each axis alike)", "",
             "Output size = (in - 1)*stride - 2*padding + dilation*(kernel - 1) + output_padding + 1",
             f"            = ({g.size} - 1)*{g.stride} - 2*{g.padding} + {g.dilation}*({g.kernel} - 1) + "
             f"{g.output_padding} + 1 = {n}",
             "", f"Each input cell scatters a kernel-shaped patch x[r,c]*w into a full grid, its corner at "
             f"(r*{g.stride}, c*{g.stride}): {full - g.output_padding}x{full - g.output_padding}, and "
             f"output_padding adds {g.output_padding} more row(s)/column(s) at the bottom/right, where no "
             f"patch lands: {full}x{full}. padding then crops {g.padding} from every side: "
             f"{full} - 2*{g.padding} = {n}.",
             "", "How many patches add into each cell of the full grid (. = none; [ ] = kept as the output):"]
    counts = patch_counts(g)
    w = cell_width(counts)
    for a in range(full):
        row = ""
        for b in range(full):
            kept = g.padding <= a < g.padding + n and g.padding <= b < g.padding + n
            mark = str(counts[a][b]) if counts[a][b] else "."
            row += f"[{mark:>{w}}]" if kept else f" {mark:>{w}} "
        lines.append("  " + row)
    lines += ["", "Where each input cell lands in the output (cropped taps left out):"]
    for (r, c), taps in scatter_map(g).items():
        landed = [f"out[{i},{j}]+=x[{r},{c}]*w[{u},{v}]" for cell, (u, v) in taps if cell for i, j in [cell]]
        cropped = sum(cell is None for cell, _ in taps)
        lines.append(f"  x[{r},{c}]: " + (", ".join(landed) or "all cropped") +
                     (f"  ({cropped} cropped)" if cropped else ""))
    return "\n".join(lines)


def draw(op, g, path):
    """The same picture as a PNG (needs matplotlib)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 5))
    if op == "conv2d":
        grid = read_counts(g)  # the same counts as the text's picture, padding cells included
        side = len(grid)
        ax.set_title(f"conv2d: how many output cells read each cell\n(box: the input; outside it: padding zeros, "
                     f"read {padding_reads(g)} times)")
        ax.add_patch(plt.Rectangle((g.padding - 0.5, g.padding - 0.5), g.size, g.size, fill=False, lw=3,
                                   color="red"))
        for a in range(side):
            for b in range(side):
                if not is_input(g, a, b):
                    ax.add_patch(plt.Rectangle((b - 0.5, a - 0.5), 1, 1, fill=False, hatch="//", lw=0,
                                               color="grey"))
    else:
        grid = patch_counts(g)
        side = len(grid)
        ax.set_title("conv_transpose2d: patches per cell of the full grid\n(box: the output that padding keeps)")
        n = transpose_out(g)
        ax.add_patch(plt.Rectangle((g.padding - 0.5, g.padding - 0.5), n, n, fill=False, lw=3, color="red"))
    ax.imshow(grid, cmap="Blues")
    for a in range(side):
        for b in range(side):
            ax.text(b, a, str(grid[a][b]), ha="center", va="center")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def main(op, g, png=None):
    """Print the explanation (and draw it); return an exit status."""
    problem = check(op, g)
    if problem:
        print(f"grader.py: error: {problem}")
        return 2
    print(explain_conv2d(g) if op == "conv2d" else explain_conv_transpose2d(g))
    if png:
        try:
            draw(op, g, png)
        except ImportError:  # the explanation is printed: the picture is the extra
            print("\n" + M.NO_MATPLOTLIB.format(path=png))
            return 0
        print(f"\nDrew {png}")
    return 0
