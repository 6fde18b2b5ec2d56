// The call path of a compiled function, in C: match the arguments against the specialisation's
// structure and signature, take the output arrays, call the library's packed entry with the GIL
// released, and build the result -- what stage/codegen/loader.py does in Python, at a tenth of the
// cost (the interpreter's part of a small training step was ~65 us of ~500, cache-cold after each
// native call).
//
// It accepts only the clean case: exact NumPy arrays (or NumPy scalars) of the specialisation's
// dtype and shape, C-contiguous and aligned, writable where the program writes, no written input
// overlapping another input, static values equal to those staged. Anything else returns
// NotImplemented and the caller takes the Python path, which copies what may be copied and names
// what is wrong: the two paths accept the same calls and give the same results.
//
// Built once per Python and NumPy version by stage/codegen/callpath.py (into stage's cache).
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <numpy/arrayscalars.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace {

enum Kind { LEAF = 0, TUPLE = 1, LIST = 2, DICT = 3, NONE = 4, NAMEDTUPLE = 5 };

// One node of a pytree structure, in preorder: a node's children follow it, each child's subtree
// contiguous. meta: a dict's keys (a tuple, in flattening order) or a namedtuple's class.
struct Node {
  int kind;
  Py_ssize_t n;
  PyObject* meta;
};

struct Input {                    // one leaf of the arguments
  int slot;                       // its place among the runtime inputs; -1: a static value
  PyObject* value;                // static: the value it was staged with
  PyArray_Descr* descr;           // runtime: its dtype
  std::vector<npy_intp> dims;
  bool written;                   // the program updates it in place
};

struct Output {
  int type_num;
  std::vector<npy_intp> dims;
  bool big;                       // recycled (see stage/codegen/outputs.py)
  std::vector<PyObject*> kept;    // arrays handed out before: reusable once only this holds them
};

constexpr size_t KEEP = 2;        // outputs.py's KEEP

struct Impl {
  int (*entry)(void* const*);
  PyObject* on_error;             // on_error(code) raises the library's error
  std::vector<Node> in_tree, out_tree;
  std::vector<Input> inputs;
  std::vector<Output> outputs;
  int slots;
};

struct Plan {
  PyObject_HEAD
  Impl* impl;
};

// Appends the leaves of `x` (new references) if it has the structure at t[i]; returns the index
// after the subtree, or -1 when `x` does not match.
Py_ssize_t match(const std::vector<Node>& t, Py_ssize_t i, PyObject* x, std::vector<PyObject*>& out) {
  const Node& nd = t[size_t(i)];
  Py_ssize_t j = i + 1;
  switch (nd.kind) {
    case LEAF:
      if (PyTuple_CheckExact(x) || PyList_CheckExact(x) || PyDict_CheckExact(x) || x == Py_None)
        return -1;
      Py_INCREF(x);
      out.push_back(x);
      return j;
    case NONE:
      return x == Py_None ? j : -1;
    case TUPLE:
    case NAMEDTUPLE:
      if (nd.kind == TUPLE ? !PyTuple_CheckExact(x) : Py_TYPE(x) != (PyTypeObject*)nd.meta)
        return -1;
      if (PyTuple_GET_SIZE(x) != nd.n) return -1;
      for (Py_ssize_t c = 0; c < nd.n && j >= 0; ++c) j = match(t, j, PyTuple_GET_ITEM(x, c), out);
      return j;
    case LIST:
      if (!PyList_CheckExact(x) || PyList_GET_SIZE(x) != nd.n) return -1;
      for (Py_ssize_t c = 0; c < nd.n && j >= 0; ++c) j = match(t, j, PyList_GET_ITEM(x, c), out);
      return j;
    case DICT:
      if (!PyDict_CheckExact(x) || PyDict_GET_SIZE(x) != nd.n) return -1;
      for (Py_ssize_t c = 0; c < nd.n && j >= 0; ++c) {
        PyObject* v = PyDict_GetItemWithError(x, PyTuple_GET_ITEM(nd.meta, c));
        if (!v) {
          PyErr_Clear();
          return -1;
        }
        j = match(t, j, v, out);
      }
      return j;
  }
  return -1;
}

// The pytree at t[*i] with the next outputs as leaves (a new reference; NULL with an exception).
PyObject* build(const std::vector<Node>& t, size_t* i, PyObject* const* leaves, size_t* next) {
  const Node& nd = t[(*i)++];
  if (nd.kind == LEAF) {
    PyObject* x = leaves[(*next)++];
    Py_INCREF(x);
    return x;
  }
  if (nd.kind == NONE) Py_RETURN_NONE;
  PyObject* kids = nd.kind == LIST ? PyList_New(nd.n) : PyTuple_New(nd.n);
  if (!kids) return nullptr;
  for (Py_ssize_t c = 0; c < nd.n; ++c) {
    PyObject* k = build(t, i, leaves, next);
    if (!k) {
      Py_DECREF(kids);
      return nullptr;
    }
    if (nd.kind == LIST) PyList_SET_ITEM(kids, c, k);
    else PyTuple_SET_ITEM(kids, c, k);
  }
  if (nd.kind == TUPLE || nd.kind == LIST) return kids;
  PyObject* r;
  if (nd.kind == NAMEDTUPLE) {
    r = PyObject_Call(nd.meta, kids, nullptr);
  } else {
    r = PyDict_New();
    for (Py_ssize_t c = 0; r && c < nd.n; ++c)
      if (PyDict_SetItem(r, PyTuple_GET_ITEM(nd.meta, c), PyTuple_GET_ITEM(kids, c)) < 0) {
        Py_DECREF(r);
        r = nullptr;
      }
  }
  Py_DECREF(kids);
  return r;
}

struct Refs {                     // references released when the call returns, however it returns
  std::vector<PyObject*> v;
  ~Refs() {
    for (PyObject* x : v) Py_XDECREF(x);
  }
};

// A static leaf: the value staged, or an equal one of the same type.
bool same_static(PyObject* x, PyObject* b) {
  if (x == b) return true;
  if (Py_TYPE(x) != Py_TYPE(b)) return false;
  int r = PyObject_RichCompareBool(x, b, Py_EQ);
  if (r < 0) PyErr_Clear();
  return r == 1;
}

// The call on leaves already flattened; NotImplemented (a new reference) when they do not fit.
PyObject* call_leaves(Impl& p, PyObject* const* leaves, size_t count) {
  if (count != p.inputs.size()) Py_RETURN_NOTIMPLEMENTED;
  const size_t nin = size_t(p.slots), nout = p.outputs.size();
  std::vector<void*> ptrs(nin + nout);
  std::vector<size_t> nbytes(nin);
  std::vector<double> scalars(2 * nin);       // NumPy scalars' values (16 bytes each)
  for (size_t k = 0; k < count; ++k) {
    const Input& in = p.inputs[k];
    PyObject* x = leaves[k];
    if (in.slot < 0) {
      if (!same_static(x, in.value)) Py_RETURN_NOTIMPLEMENTED;
      continue;
    }
    void* data;
    size_t size;
    if (PyArray_CheckExact(x)) {
      PyArrayObject* a = (PyArrayObject*)x;
      const int want = NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED | (in.written ? NPY_ARRAY_WRITEABLE : 0);
      if ((PyArray_FLAGS(a) & want) != want) Py_RETURN_NOTIMPLEMENTED;
      if (PyArray_DESCR(a) != in.descr && !PyArray_EquivTypes(PyArray_DESCR(a), in.descr))
        Py_RETURN_NOTIMPLEMENTED;
      if (size_t(PyArray_NDIM(a)) != in.dims.size() ||
          (!in.dims.empty() &&
           std::memcmp(PyArray_DIMS(a), in.dims.data(), in.dims.size() * sizeof(npy_intp)) != 0))
        Py_RETURN_NOTIMPLEMENTED;
      data = PyArray_DATA(a);
      size = size_t(PyArray_NBYTES(a));
    } else if (!in.written && in.dims.empty() && Py_TYPE(x) == in.descr->typeobj) {
      data = &scalars[2 * size_t(in.slot)];     // a NumPy scalar of the dtype: its value
      PyArray_ScalarAsCtype(x, data);
      size = 0;                                 // (a copy: never shares a written input's memory)
    } else {
      Py_RETURN_NOTIMPLEMENTED;
    }
    ptrs[size_t(in.slot)] = data;
    nbytes[size_t(in.slot)] = size;
  }
  // A written input may not share memory with another input: what the program would read of the
  // other depends on the order of the generated code (the Python path names the two arguments).
  for (const Input& w : p.inputs) {
    if (w.slot < 0 || !w.written || nbytes[size_t(w.slot)] == 0) continue;
    const char* lo = (const char*)ptrs[size_t(w.slot)];
    const char* hi = lo + nbytes[size_t(w.slot)];
    for (size_t o = 0; o < nin; ++o) {
      if (o == size_t(w.slot) || nbytes[o] == 0) continue;
      const char* olo = (const char*)ptrs[o];
      if (olo < hi && lo < olo + nbytes[o]) Py_RETURN_NOTIMPLEMENTED;
    }
  }
  Refs outs;
  outs.v.reserve(nout);
  for (Output& o : p.outputs) {
    PyObject* a = nullptr;
    if (o.big)
      for (size_t j = 0; j < o.kept.size(); ++j)
        if (Py_REFCNT(o.kept[j]) == 1) {        // only this cache holds it: nothing can see it
          a = o.kept[j];
          o.kept.erase(o.kept.begin() + long(j));
          break;
        }
    if (!a) a = PyArray_SimpleNew(int(o.dims.size()), o.dims.data(), o.type_num);
    if (!a) return nullptr;
    outs.v.push_back(a);
    ptrs[nin + outs.v.size() - 1] = PyArray_DATA((PyArrayObject*)a);
  }
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = p.entry(ptrs.data());
  Py_END_ALLOW_THREADS
  for (size_t j = 0; j < nout; ++j) {
    Output& o = p.outputs[j];
    if (!o.big) continue;
    Py_INCREF(outs.v[j]);
    o.kept.push_back(outs.v[j]);
    if (o.kept.size() > KEEP) {
      Py_DECREF(o.kept.front());
      o.kept.erase(o.kept.begin());
    }
  }
  if (rc != 0) {
    PyObject* r = PyObject_CallFunction(p.on_error, "i", rc);   // raises the library's error
    if (r) {
      Py_DECREF(r);
      PyErr_Format(PyExc_RuntimeError, "compiled function failed with code %d", rc);
    }
    return nullptr;
  }
  size_t i = 0, next = 0;
  return build(p.out_tree, &i, outs.v.data(), &next);
}

// plan.call(args): args, the tuple of a call's arguments
PyObject* plan_call(PyObject* self, PyObject* args) {
  Impl& p = *((Plan*)self)->impl;
  Refs leaves;
  leaves.v.reserve(p.inputs.size());
  if (match(p.in_tree, 0, args, leaves.v) < 0) Py_RETURN_NOTIMPLEMENTED;
  return call_leaves(p, leaves.v.data(), leaves.v.size());
}

// plan.call_leaves(list): the flattened arguments
PyObject* plan_call_leaves(PyObject* self, PyObject* list) {
  if (!PyList_CheckExact(list)) {
    PyErr_SetString(PyExc_TypeError, "call_leaves takes a list");
    return nullptr;
  }
  Refs leaves;                                  // held: the list may change while the GIL is free
  for (Py_ssize_t k = 0; k < PyList_GET_SIZE(list); ++k) {
    PyObject* x = PyList_GET_ITEM(list, k);
    Py_INCREF(x);
    leaves.v.push_back(x);
  }
  return call_leaves(*((Plan*)self)->impl, leaves.v.data(), leaves.v.size());
}

template <class F>
void each_ref(Impl& p, F f) {
  f(p.on_error);
  for (Node& n : p.in_tree) f(n.meta);
  for (Node& n : p.out_tree) f(n.meta);
  for (Input& in : p.inputs) {
    f(in.value);
    f((PyObject*)in.descr);
  }
  for (Output& o : p.outputs)
    for (PyObject* a : o.kept) f(a);
}

int plan_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));                      // a heap type: its instances hold it
  Impl* p = ((Plan*)self)->impl;
  if (!p) return 0;
  int r = 0;
  each_ref(*p, [&](PyObject* o) {
    if (o && !r) r = visit(o, arg);
  });
  return r;
}

int plan_clear(PyObject* self) {
  Impl* p = ((Plan*)self)->impl;
  ((Plan*)self)->impl = nullptr;
  if (p) {
    each_ref(*p, [](PyObject* o) { Py_XDECREF(o); });
    delete p;
  }
  return 0;
}

void plan_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  plan_clear(self);
  PyObject_GC_Del(self);
  Py_DECREF(type);
}

bool read_tree(PyObject* seq, std::vector<Node>& t) {
  PyObject* fast = PySequence_Fast(seq, "a tree is a sequence of (kind, n, meta)");
  if (!fast) return false;
  for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(fast); ++k) {
    Node nd{0, 0, nullptr};
    if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, k), "inO", &nd.kind, &nd.n, &nd.meta)) {
      Py_DECREF(fast);
      return false;
    }
    Py_INCREF(nd.meta);
    t.push_back(nd);
  }
  Py_DECREF(fast);
  return !t.empty();
}

bool read_dims(PyObject* shape, std::vector<npy_intp>& dims) {
  PyObject* fast = PySequence_Fast(shape, "a shape is a sequence of ints");
  if (!fast) return false;
  for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(fast); ++k) {
    dims.push_back(npy_intp(PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(fast, k))));
    if (PyErr_Occurred()) {
      Py_DECREF(fast);
      return false;
    }
  }
  Py_DECREF(fast);
  return true;
}

// Plan(entry_address, on_error, in_tree, inputs, outputs, out_tree)
//   inputs: (slot, static value, dtype, shape, written) per leaf; outputs: (dtype, shape, big)
int plan_init(PyObject* self, PyObject* args, PyObject*) {
  unsigned long long entry;
  PyObject *on_error, *in_tree, *inputs, *outputs, *out_tree;
  if (!PyArg_ParseTuple(args, "KOOOOO", &entry, &on_error, &in_tree, &inputs, &outputs, &out_tree))
    return -1;
  plan_clear(self);
  Impl* p = new Impl();
  ((Plan*)self)->impl = p;
  p->entry = reinterpret_cast<int (*)(void* const*)>(uintptr_t(entry));
  Py_INCREF(on_error);
  p->on_error = on_error;
  if (!read_tree(in_tree, p->in_tree) || !read_tree(out_tree, p->out_tree)) return -1;
  PyObject* fin = PySequence_Fast(inputs, "inputs");
  if (!fin) return -1;
  p->slots = 0;
  for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(fin); ++k) {
    Input in{-1, nullptr, nullptr, {}, false};
    PyObject *value, *dtype, *shape;
    int written;
    if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fin, k), "iOOOp", &in.slot, &value, &dtype,
                          &shape, &written)) {
      Py_DECREF(fin);
      return -1;
    }
    in.written = written;
    if (in.slot >= 0) {
      if (!PyArray_DescrConverter(dtype, &in.descr) || !read_dims(shape, in.dims)) {
        Py_DECREF(fin);
        return -1;
      }
      p->slots = in.slot + 1 > p->slots ? in.slot + 1 : p->slots;
    } else {
      Py_INCREF(value);
      in.value = value;
    }
    p->inputs.push_back(std::move(in));
  }
  Py_DECREF(fin);
  PyObject* fout = PySequence_Fast(outputs, "outputs");
  if (!fout) return -1;
  for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(fout); ++k) {
    Output o{0, {}, false, {}};
    PyObject *dtype, *shape;
    int big;
    PyArray_Descr* d = nullptr;
    if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fout, k), "OOp", &dtype, &shape, &big) ||
        !PyArray_DescrConverter(dtype, &d) || !read_dims(shape, o.dims)) {
      Py_DECREF(fout);
      return -1;
    }
    o.type_num = d->type_num;
    Py_DECREF(d);
    o.big = big;
    p->outputs.push_back(std::move(o));
  }
  Py_DECREF(fout);
  return 0;
}

PyMethodDef plan_methods[] = {
    {"call", plan_call, METH_O, "call(args): the result, or NotImplemented (take the Python path)"},
    {"call_leaves", plan_call_leaves, METH_O, "call_leaves(list): as call, on flattened arguments"},
    {nullptr, nullptr, 0, nullptr}};

PyType_Slot plan_slots[] = {
    {Py_tp_new, (void*)PyType_GenericNew},  {Py_tp_init, (void*)plan_init},
    {Py_tp_dealloc, (void*)plan_dealloc},   {Py_tp_traverse, (void*)plan_traverse},
    {Py_tp_clear, (void*)plan_clear},       {Py_tp_methods, (void*)plan_methods},
    {0, nullptr}};

PyType_Spec plan_spec = {"stage_callpath.Plan", int(sizeof(Plan)), 0,
                         Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, plan_slots};

PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "stage_callpath",
                          "The C call path of stage's compiled functions", -1, nullptr,
                          nullptr, nullptr, nullptr, nullptr};

}  // namespace

PyMODINIT_FUNC PyInit_stage_callpath(void) {
  import_array();
  PyObject* m = PyModule_Create(&module_def);
  if (!m) return nullptr;
  PyObject* type = PyType_FromSpec(&plan_spec);
  if (!type || PyModule_AddObject(m, "Plan", type) < 0) {
    Py_XDECREF(type);
    Py_DECREF(m);
    return nullptr;
  }
  return m;
}
