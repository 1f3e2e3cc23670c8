"""Raw memory, taken out of the worker's reach: the native code that turns a number into memory.

Every rule kept inside a worker -- the dispatcher's bans, grad mode, the profile and audit
hooks -- lives in the worker's own memory. Python code cannot write memory it was not given,
unless some native code lends it an address: then any rule can be rewritten. So the worker
loses the native code that does that, before any student code runs:
  - ctypes, all of it (pointers, c_char_p(address), from_address, foreign calls);
  - numpy's __array_interface__, whose 'data' may be any address (numpy.PyArray_FromInterface
    now answers "not an array" at once); as_strided, which numpy builds on it, is replaced by one
    whose view must lie inside the array's own memory, so sliding_window_view keeps working;
  - torch's storage methods, all but the few honest code reaches (_STORAGE_KEPT): the others take
    an address (_set_cdata, _new_with_weak_ptr, ...), free one, move memory to and from files, or
    shrink a storage under live tensors; torch's pybind11 functions that take an address are
    deleted (_TORCH_DELETED); Generator.__setstate__ trusts what it is given;
  - sharing memory in ways that let its owner free it under the other side (DLPack, torch.frombuffer,
    numpy's ndarray.resize and __setstate__: see _TRAPPED);
and operators() below bans the operators that read or write outside a tensor's memory
(Tensor.set_, sparse and nested tensors, segment_reduce's unsafe mode) and checks the views
_reshape_alias makes.

How: plan() (in the zygote, which may still use ctypes) works out which machine code to
overwrite; apply() (in each worker, after its last use of ctypes: jail.lock loads the seccomp
filter with it) writes it through /proc/self/mem, which the kernel lets a process do to its own
read-only code. The code pages stay read+execute: changing them back would take a write through
raw memory, and none is left; no new native code can be loaded either (jail.lock makes every
mount noexec), and code objects cannot be made (guards.py). Using anything sealed stops the
worker with SIGTRAP, which the grader reports as such.
"""
from __future__ import annotations

import gc
import os
import sys

# one trap instruction per processor: int3; brk #0
_TRAP = {"x86_64": b"\xcc", "aarch64": b"\x00\x00\x20\xd4"}
# C functions whose code becomes a trap (each is a function of its own): torch's storage methods
# that take an address, free one, or shrink memory under live tensors; and every way to share
# memory that does not keep its owner from freeing it (DLPack both ways: a tensor resized after
# np.from_dlpack leaves numpy pointing at freed memory; torch.frombuffer over a bytearray that
# grows; numpy's resize and __setstate__, which replace an array's memory and free the old,
# which torch.from_numpy may still use)
_TRAPPED = (("torch._C.Generator", "__setstate__"),  # reads a tuple's items from whatever it is given
            ("torch._C.Stream", "wait_event"),  # takes any object for an event
            ("torch._C", "_to_dlpack"), ("torch._C", "_to_dlpack_versioned"), ("torch._C", "_from_dlpack"),
            ("torch", "frombuffer"), ("numpy", "from_dlpack"), ("numpy.ndarray", "__dlpack__"),
            ("numpy.ndarray", "resize"), ("numpy.ndarray", "__setstate__"))
# And every method of torch's storages but these, which honest code and torch's own reach (x.untyped_storage(),
# copy.deepcopy): the others take an address (_set_cdata, _expired, _new_with_weak_ptr, ...), free one, read
# or write files into memory (_set_from_file, _write_file, from_file), share memory across processes, or
# resize under live tensors. A tenth outside attacker read and wrote any address with _set_cdata and
# _set_from_file over a forged storage.
_STORAGE_KEPT = ("__getitem__", "__setitem__", "__len__", "copy_", "data_ptr", "element_size", "fill_",
                 "is_shared", "nbytes", "new", "resizable", "_fix_weakref", "_byteswap")
# pybind11 functions share one C entry point with every other: these are deleted instead (torch._C
# holds the only reference; its module code cannot run again to bring them back).
# _storage_Use_Count reads the 4 bytes at any address (the same attacker's read).
_TORCH_DELETED = ("_construct_storage_from_data_pointer", "_storage_Use_Count")
_FROM_INTERFACE = 110  # PyArray_FromInterface's place in numpy's C API table (fixed by numpy's ABI)


class Unavailable(Exception):
    """The worker's raw memory cannot be sealed here (the message says why)."""


def available() -> str:
    """"" when plan() can work here (checked before the sandbox is built), else why not."""
    import _ctypes
    if os.uname().machine not in _TRAP:
        return f"no seal for {os.uname().machine} processors"
    if not _executable_ranges(getattr(_ctypes, "__file__", "") or ""):
        return "ctypes is built into this Python, not a library of its own: raw memory cannot be sealed"
    return ""


def _return_constant(value: int, machine: str) -> bytes:
    """Machine code for `return value;` (a borrowed pointer, as PyArray_FromInterface returns)."""
    if machine == "x86_64":
        return b"\x48\xb8" + value.to_bytes(8, "little") + b"\xc3"  # movabs rax, value; ret
    # ldr x0, [pc + 8]; ret; .quad value
    return (0x58000040).to_bytes(4, "little") + (0xD65F03C0).to_bytes(4, "little") + value.to_bytes(8, "little")


def _executable_ranges(path: str) -> list[tuple[int, int]]:
    """The executable mappings of a file, known by device and inode (a bind mount or the
    sandbox's new root may show it under another path)."""
    try:
        st = os.stat(path)
    except OSError:
        return []
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) < 5 or "x" not in fields[1] or int(fields[4]) != st.st_ino:
                continue
            major, minor = (int(x, 16) for x in fields[3].split(":"))
            if (major, minor) == (os.major(st.st_dev), os.minor(st.st_dev)):
                start, end = (int(x, 16) for x in fields[0].split("-"))
                ranges.append((start, end))
    return ranges


def _entry(ctypes, obj, name: str) -> int:
    """Where a built-in function or method's C code starts (PyMethodDef.ml_meth)."""
    if isinstance(obj, staticmethod):
        obj = obj.__func__
    if type(getattr(obj, "__self__", None)).__name__.startswith("pybind11"):
        raise Unavailable(f"{name} is a pybind11 function, whose C entry point all of them share")
    offset = {"builtin_function_or_method": 16, "method_descriptor": 40, "classmethod_descriptor": 40}.get(
        type(obj).__name__)
    if offset is None:
        raise Unavailable(f"{name} is a {type(obj).__name__}, not a built-in function")
    method_def = ctypes.c_void_p.from_address(id(obj) + offset).value
    if not method_def or ctypes.c_char_p.from_address(method_def).value != name.encode():
        raise Unavailable(f"this Python's object layout is not the one expected (reading {name})")
    return ctypes.c_void_p.from_address(method_def + ctypes.sizeof(ctypes.c_void_p)).value


def storage_trapped(torch) -> list[str]:
    """The methods of torch's storages that become traps: every built-in one but _STORAGE_KEPT."""
    return sorted(name for name, value in vars(torch._C.StorageBase).items() if name not in _STORAGE_KEPT
                  and (type(value).__name__ in ("method_descriptor", "classmethod_descriptor")
                       or isinstance(value, staticmethod)))


def plan() -> tuple[tuple[int, bytes], ...]:
    """In the zygote, after its imports: (address, bytes) to write in each worker."""
    import ctypes

    import _ctypes
    import numpy
    import torch
    machine = os.uname().machine
    trap = _TRAP.get(machine)
    if trap is None:
        raise Unavailable(f"no seal for {machine} processors")
    if not os.path.exists("/proc/self/mem"):
        raise Unavailable("no /proc here")
    patches = []
    code = _executable_ranges(getattr(_ctypes, "__file__", "") or "")
    if not code:
        raise Unavailable("ctypes is built into this Python, not a library of its own")
    patches += [(start, trap * ((end - start) // len(trap))) for start, end in code]
    kept = {_entry(ctypes, vars(torch._C.StorageBase)[name], name) for name in _STORAGE_KEPT
            if type(vars(torch._C.StorageBase).get(name)).__name__ == "method_descriptor"}
    for name in storage_trapped(torch):
        entry = _entry(ctypes, vars(torch._C.StorageBase)[name], name)
        if entry in kept:
            raise Unavailable(f"torch's storage method {name} shares its C code with one honest code uses")
        patches.append((entry, trap))
    for owner, name in _TRAPPED:
        parent = sys.modules.get(owner)
        if parent is None:  # a class: looked up in its module
            module, _, cls = owner.rpartition(".")
            obj = getattr(sys.modules[module], cls).__dict__.get(name)
        else:
            obj = getattr(parent, name, None)
        if obj is not None:  # absent from this version: nothing to seal
            patches.append((_entry(ctypes, obj, name), trap))
    for name in _TORCH_DELETED:
        if hasattr(torch._C, name):
            delattr(torch._C, name)
    api = numpy._core._multiarray_umath._ARRAY_API
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    table = get(api, None)
    from_interface = ctypes.c_void_p.from_address(table + _FROM_INTERFACE * ctypes.sizeof(ctypes.c_void_p)).value
    patches.append((from_interface, _return_constant(id(NotImplemented), machine)))
    _replace_as_strided(numpy)
    return tuple(patches)


def open_memory() -> int:
    """Before /proc leaves the worker's view (jail.lock): a descriptor apply() writes through."""
    return os.open("/proc/self/mem", os.O_RDWR | os.O_CLOEXEC)


def apply(memory: int, patches) -> None:
    """In the worker, after its last use of ctypes and before any student code."""
    # objects that exist now are never examined by the collector again: examining a ctypes
    # object runs ctypes' code, which is about to become traps (garbage among them stays)
    gc.freeze()
    try:
        for address, data in patches:
            if os.pwrite(memory, data, address) != len(data):
                raise Unavailable(f"could not seal the code at {address:#x}")
    finally:
        os.close(memory)


# -- as_strided without __array_interface__ ------------------------------------------------------

def _replace_as_strided(numpy) -> None:
    impl = sys.modules["numpy.lib._stride_tricks_impl"]
    original = impl.as_strided
    for module in (impl, sys.modules.get("numpy.lib.stride_tricks")):
        if module is not None and getattr(module, "as_strided", None) is original:
            module.as_strided = _as_strided


def _as_strided(x, shape=None, strides=None, subok=False, writeable=True):
    """numpy.lib.stride_tricks.as_strided, for views that stay inside x's memory (while grading,
    a view reaching outside it is refused with ValueError rather than reading other memory)."""
    import numpy as np
    x = np.array(x, copy=None, subok=subok)
    shape = tuple(x.shape if shape is None else shape)
    strides = tuple(x.strides if strides is None else strides)
    owner = x
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if not (owner.flags.c_contiguous or owner.flags.f_contiguous):
        raise ValueError("as_strided: while grading it needs an array whose memory is one block "
                         "(np.ascontiguousarray makes one)")
    low = owner.__array_interface__["data"][0]
    start = x.__array_interface__["data"][0] - low
    if all(n > 0 for n in shape):
        first = start + sum(s * (n - 1) for s, n in zip(strides, shape) if s < 0)
        last = start + sum(s * (n - 1) for s, n in zip(strides, shape) if s > 0) + x.itemsize
        if first < 0 or last > owner.nbytes:
            raise ValueError("as_strided: this view reaches outside the array's memory (not allowed while grading)")
    flat = owner.ravel(order="K").view(np.uint8)
    view = np.ndarray(shape, x.dtype, buffer=flat, offset=start, strides=strides)
    if subok and type(x) is not np.ndarray:
        view = view.view(type(x))
    if not writeable or not x.flags.writeable:
        view.flags.writeable = False
    return view


# -- operators: torch's own kernels that reach outside a tensor -------------------------------------

# Operators that read or write outside a tensor's memory when asked to (torch does not check):
# set_ at any offset and stride, segment_reduce's unsafe mode, and sparse and nested tensors,
# whose indices are trusted when made. Banned in every worker, whatever its rules (this module's
# docstring says why). _reshape_alias (a view at any stride) is torch's own
# tool inside einsum, so it is not banned but checked, as as_strided is.
_MEMORY_OPS = ("set_", "set", "segment_reduce", "_segment_reduce_backward", "_nested_view_from_jagged",
               "_nested_view_from_jagged_copy",
               "_to_sparse", "_to_sparse_csr", "_to_sparse_csc", "_to_sparse_bsr", "_to_sparse_bsc")  # Tensor.to_sparse
_MEMORY_KEYS = ("SparseCPU", "SparseCsrCPU", "NestedTensorCPU", "SparseMeta", "SparseCsrMeta")
# And by what an operator's schema says: every operator that writes into a tensor argument other
# than self and out= (which torch shapes itself), as _cummax_helper does with no shape check (an
# outside attacker wrote 8 bytes anywhere with it), and every batch norm that updates running
# statistics (their sizes are not checked either). These write into what they are given.
_WRITES_CHECKED = ("_no_grad_fill_", "_no_grad_normal_", "_no_grad_uniform_", "_no_grad_zero_",  # their tensor is self
                   "rrelu_with_noise", "rrelu_with_noise_")  # checks noise's shape


# And the derivative kernels that take the indices a forward pass saved (pooling's argmax,
# embedding bags' offsets, CTC's lengths, segment lengths): they trust them, and indices can be
# anything -- passed directly, or changed through .data under autograd's version counter (a sixth
# outside attacker read and wrote any address with two of them). Not the composites of gather,
# scatter and index_add, which check their indices (autograd through x.max(dim) uses them).
_INDEX_ARGS = ("indices", "offset2bag", "bag_size", "max_indices", "maximum_indices", "offsets", "lengths",
               "argmax", "targets", "target_lengths", "input_lengths", "index")
_INDICES_CHECKED = ("gather_backward", "index_select_backward", "value_selecting_reduction_backward",
                    "cummaxmin_backward")
# Derivative kernels trust what autograd saved for them, and student code can call them with
# anything: a seventh outside attacker overflowed _weight_norm_interface_backward's output, and
# _pdist/_cdist/grid_sampler's read past theirs. So every derivative kernel of torch's own (a CPU
# kernel, not a composite of checked operators) is banned in every worker, but for these, which
# autograd needs through the exercises' operations and which shape-check (TensorIterator) all
# they are given: activations', losses', softmax's, dropout's.
_DERIVATIVES_KEPT = ("threshold_backward", "sigmoid_backward", "tanh_backward", "gelu_backward", "silu_backward",
                     "mish_backward", "elu_backward", "hardtanh_backward", "hardsigmoid_backward",
                     "hardswish_backward", "hardshrink_backward", "softshrink_backward", "leaky_relu_backward",
                     "log_sigmoid_backward", "logit_backward", "softplus_backward", "mse_loss_backward",
                     "huber_loss_backward", "smooth_l1_loss_backward", "binary_cross_entropy_backward",
                     "nll_loss_backward", "nll_loss2d_backward", "_log_softmax_backward_data",
                     "_softmax_backward_data", "native_dropout_backward")
# Private operators found trusting a size another argument implies (the same seventh attacker
# read any address with _compute_linear_combination; _weight_norm_interface reads a row per row)
_TRUSTING = ("_compute_linear_combination", "_weight_norm_interface")


def _fbgemm(names):
    """fbgemm's packed-matrix operators: a packed matrix is a tensor whose bytes are a C++ object
    (its vtable and buffer pointers), which the others then trust (a tenth outside attacker read any
    address with fbgemm_linear_int8_weight, where torch found the processor's features)."""
    return {full[6:].split(".")[0] for full in names if full.startswith("aten::fbgemm_")}


def _writes_unchecked():
    """aten operator names whose schema writes a tensor argument torch does not shape for it,
    or that are derivative kernels trusting the indices they are given."""
    import torch
    names = set()
    for schema in torch._C._jit_get_all_schemas():
        if not schema.name.startswith("aten::"):
            continue
        name = schema.name[6:]
        for arg in schema.arguments:
            written = arg.alias_info is not None and arg.alias_info.is_write and not arg.kwarg_only
            tensor = "Tensor" in str(arg.type)
            if (written and arg.name != "self" and tensor) or arg.name in ("running_mean", "running_var") \
                    or ("backward" in name and tensor and arg.name in _INDEX_ARGS):
                names.add(name)
    return names - set(_WRITES_CHECKED) - set(_INDICES_CHECKED)


# torch's private operators (aten::_name) are the insides of its public ones: called directly, they
# skip the checks the public operator made first (_cummax_helper, _compute_linear_combination,
# _weight_norm_interface and _slow_conv2d_backward gave four outside attackers raw writes). Every
# one with a kernel of its own is denied by default, in every worker; these are kept, each the
# inside of a public operation honest code uses, and each checks what it is given.
_PRIVATE_KEPT = ("_local_scalar_dense",  # x.item()
                 "_reshape_alias",  # reshape, einsum: checked as as_strided is (below)
                 "_softmax", "_log_softmax", "_softmax_backward_data", "_log_softmax_backward_data",
                 "_index_put_impl_",  # x[index] = value
                 "_stack", "_aminmax", "_unique", "_unique2", "_logcumsumexp",
                 "_fft_c2c", "_fft_r2c", "_fft_c2r",  # torch.fft: the convolution theorem is allowed
                 "_linalg_det", "_linalg_eigh", "_linalg_eigvals", "_linalg_slogdet", "_linalg_solve_ex",
                 "_linalg_svd", "_assert_async", "_functional_assert_async", "_make_dep_token")
_BACKEND_KEYS = ("CPU", "MkldnnCPU", "QuantizedCPU")


def _private(full):
    """Is aten operator `full` a private one with a kernel of its own that is not kept?"""
    base = full[6:].split(".")[0]
    return full.startswith("aten::_") and not base.startswith("__") and base not in _PRIVATE_KEPT


# torch._C's bindings that trust what they are given and that no exercise needs: a fuzz of every
# binding with bogus arguments (an address, -1, None, a list) crashed these. Replaced everywhere
# in every worker by a ban, and the originals let go: all of TorchScript's graph functions, the
# internals' modules, and the module functions found one by one (an index never checked, a
# tensor's implementation wrapped from an address, a flatbuffer parsed as given, ...).
_BINDING_PREFIXES = ("_jit",)
_BINDING_LOOKUPS = ("_jit_get_operation", "_jit_get_schemas_for_operator", "_jit_get_all_schemas")  # torch.ops
_BINDING_MODULES = ("_aoti", "_distributed", "_distributed_autograd", "_distributed_c10d", "_distributed_rpc", "_jit",
                    "_jit_tree_views", "_lazy", "_lazy_ts_backend", "_monitor", "_nativert", "_onnx", "_te", "_export",
                    "_acc")
_BINDINGS = ("_any_output_is_alias_to_input_or_output", "_commit_update", "_create_module_with_type",
             "_create_object_with_type", "_fuse_to_static_module", "_get_dispatch_stack_at", "_get_function_stack_at",
             "_get_module_info_from_flatbuffer", "_get_value_trace", "_unsafe_reset_storage", "_wrap_tensor_impl",
             "_set_thread_name", "_profiler.symbolize_tracebacks",
             "Graph", "CompilationUnit", "FileCheck")  # TorchScript's IR, made without a _jit function


def denied_bindings(torch) -> dict[str, object]:
    """{'torch._C.name': the binding} for every binding _BINDING_* name."""
    import types
    found = {}
    for name, value in vars(torch._C).items():
        if name.startswith(_BINDING_PREFIXES) and name not in _BINDING_LOOKUPS and callable(value) \
                and not isinstance(value, type):
            found[f"torch._C.{name}"] = value
    for module_name in _BINDING_MODULES:
        module = getattr(torch._C, module_name, None)
        if isinstance(module, types.ModuleType):
            for name, value in vars(module).items():
                if callable(value) and not isinstance(value, type) and type(value).__name__ != "module":
                    found[f"torch._C.{module_name}.{name}"] = value
    for dotted in _BINDINGS:
        value = torch._C
        for part in dotted.split("."):
            value = getattr(value, part, None)
        if value is not None:
            found[f"torch._C.{dotted}"] = value
    return found


def bindings(forbidden):
    """In the zygote, before the rules look for what they replace: every denied binding is replaced,
    in every module's namespace, by a ban that holds no reference to it."""
    from rules import _make_ban, _replace_everywhere
    import torch
    _replace_everywhere({id(value): _make_ban(f"bindings {name}", forbidden)
                         for name, value in denied_bindings(torch).items()})


# torch's operators outside these namespaces are its internals (inductor's, mkl's, static_runtime's,
# prims, quantized, distributed, test and debug operators): some trust the offsets and sizes they
# are given (inductor::_reinterpret_tensor is a view at any address), some compute an exercise's
# answer under another name (mkl::_mkl_linear). Denied by default, on every key, in every worker;
# an exercise's own rules then name the ones they forbid (a quantized conv is "convolution").
_PUBLIC_NAMESPACES = ("aten", "profiler")  # profiler: record_function, which optimizers call


def _kernel_keys(full):
    """The dispatch keys op `full` has a kernel for, read from torch's own dump of it."""
    import re

    import torch
    keys = []
    for line in torch._C._dispatch_dump(full).splitlines():
        found = re.match(r"^(\w+)(?:\[alias\])?: registered at", line)
        if found and found.group(1) != "debug":
            keys.append(found.group(1))
    return keys


def _deepcopy_by_clone(original):
    """Tensor.__deepcopy__ for plain tensors in a worker: torch's own points a new tensor at a copied
    storage with set_, which the memory rule bans; a clone holds the same values (an optimizer that
    keeps copy.deepcopy(p) of its parameters still works). Anything else is torch's own."""
    import copy

    import torch

    def deepcopy(self, memo):
        if type(self) is not torch.Tensor or not self.is_leaf or self.layout != torch.strided or self.is_quantized:
            return original(self, memo)
        if id(self) in memo:
            return memo[id(self)]
        with torch.no_grad():
            new = self.clone()
        new.requires_grad_(self.requires_grad)
        memo[id(self)] = new
        if self.grad is not None:
            new.grad = copy.deepcopy(self.grad, memo)
        if self.__dict__:
            new.__dict__ = copy.deepcopy(self.__dict__, memo)
        return new
    return deepcopy


def _by_name(kind, forbidden):
    """A ban per aten operator, whose event names it ("kind aten::name"): the message says which."""
    from rules import _make_ban
    bans = {}

    def ban_for(name):
        event = f"{kind} aten::{name.split('.')[0]}"
        return bans.get(event) or bans.setdefault(event, _make_ban(event, forbidden))
    return ban_for


def _deny_internal(full, libraries, ban):
    """Every kernel of operator `full`, outside the public namespaces, becomes `ban`."""
    import torch
    ns, _, name = full.partition("::")
    library = libraries.get(ns) or libraries.setdefault(ns, torch._C._dispatch_library("IMPL", ns, ""))
    for key in _kernel_keys(full):
        try:
            library.impl(name, key, ban, False)
        except RuntimeError:
            pass  # a key that takes no Python kernel


def operators(forbidden):
    """In the zygote, for every worker: the raw-memory operators end a worker that calls them
    ("memory"), and so do torch's internal ones ("internal"), its private ones ("private") and its
    convolution kernels ("kernels"); Tensor.__deepcopy__, which uses set_, becomes a clone."""
    from rules import _OP_KEYS, OP_BANS, _leak, _make_ban
    import torch
    import warnings
    ban = _make_ban("memory", forbidden)
    lib = torch._C._dispatch_library("IMPL", "aten", "")
    keys = set(_OP_KEYS) | set(_MEMORY_KEYS)
    names = torch._C._dispatch_get_all_op_names()
    memory_ops = set(_MEMORY_OPS) | set(_TRUSTING) | _writes_unchecked() | _fbgemm(names) | {
        full[6:].split(".")[0] for full in names
        if full.startswith("aten::") and "backward" in full and full[6:].split(".")[0] not in _DERIVATIVES_KEPT
        and "conv" not in full  # the convolutions' are banned as convolution kernels, below
        and torch._C._dispatch_has_kernel_for_dispatch_key(full, "CPU")}
    private, kernels = _by_name("private", forbidden), _by_name("kernels", forbidden)
    internal = _make_ban("internal", forbidden)
    libraries = {"aten": lib}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "overriding a previously registered kernel": yes
        for full in names:
            ns, _, name = full.partition("::")
            if ns not in _PUBLIC_NAMESPACES:
                _deny_internal(full, libraries, internal)
                continue
            if ns != "aten":
                continue
            if _private(full):  # first: a rule below that names the operator's kind replaces this
                for key in _BACKEND_KEYS:
                    if torch._C._dispatch_has_kernel_for_dispatch_key(full, key):
                        lib.impl(name, key, private(name), False)
            wanted = keys if name.split(".")[0] in memory_ops else _MEMORY_KEYS
            for key in wanted:
                if torch._C._dispatch_has_kernel_for_dispatch_key(full, key):
                    lib.impl(name, key, ban, False)
        # torch's convolution kernels trust the shapes they are given (an eighth outside attacker
        # overflowed _slow_conv2d_backward's buffer): no worker needs one, since the cnn exercise's
        # stand-ins are computed in the grader. An exercise whose rule forbids convolutions names them so.
        for ns, name, key in OP_BANS.get("convolution", ()):
            if ns == "aten":
                try:
                    lib.impl(name, key, kernels(name), False)
                except RuntimeError:
                    pass  # a key that takes no Python kernel
        as_strided = torch.ops.aten.as_strided.default

        def checked_reshape_alias(tensor, size, stride):  # a closure: reachable from no Python object
            return as_strided(tensor, size, stride)  # refuses a view outside the storage
        lib.impl("_reshape_alias", "CPU", checked_reshape_alias, False)
    torch.Tensor.__deepcopy__ = _deepcopy_by_clone(torch.Tensor.__deepcopy__)
    for library in libraries.values():
        _leak(library)
