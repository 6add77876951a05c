// tests/support/onnx_builder.hpp - small ONNX models built in memory for tests.
#pragma once

#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "ktc/core/shape.hpp"

namespace ktc::testing {

// A model under construction: float inputs and outputs with static shapes, nodes in order.
struct model_builder {
    ::onnx::ModelProto m;
    ::onnx::GraphProto* g;

    explicit model_builder(int opset) {
        m.set_ir_version(opset >= 15 ? 8 : 6);
        auto* op = m.add_opset_import();
        op->set_domain("");
        op->set_version(opset);
        g = m.mutable_graph();
        g->set_name("t");
    }
    void input(const std::string& name, shape_t shape) {
        auto* vi = g->add_input();
        vi->set_name(name);
        auto* tt = vi->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(::onnx::TensorProto::FLOAT);
        tt->mutable_shape();
        for (auto d : shape) tt->mutable_shape()->add_dim()->set_dim_value(d);
    }
    void output(const std::string& name, shape_t shape) {
        auto* vi = g->add_output();
        vi->set_name(name);
        auto* tt = vi->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(::onnx::TensorProto::FLOAT);
        tt->mutable_shape();
        for (auto d : shape) tt->mutable_shape()->add_dim()->set_dim_value(d);
    }
    ::onnx::NodeProto* node(const std::string& op, std::vector<std::string> ins, std::vector<std::string> outs) {
        auto* n = g->add_node();
        n->set_op_type(op);
        for (auto& i : ins) n->add_input(i);
        for (auto& o : outs) n->add_output(o);
        return n;
    }
    std::string bytes() const { return m.SerializeAsString(); }
};

inline void set_float(::onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::FLOAT);
    a->set_f(v);
}
inline void set_int(::onnx::NodeProto* n, const std::string& name, std::int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(v);
}

inline void set_ints(::onnx::NodeProto* n, const std::string& name, std::vector<std::int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
}

// Deterministic, non-trivial test values: offset + scale * ((i * 7) mod 11).
inline std::vector<float> ramp(std::size_t n, float scale, float offset = 0.f) {
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = offset + scale * static_cast<float>((i * 7) % 11);
    return v;
}

inline void add_float_initializer(model_builder& b, const std::string& name, shape_t shape, std::vector<float> values) {
    auto* t = b.g->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::FLOAT);
    for (auto d : shape) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
}

// A Constant node (named OUT_node) producing float tensor `out` of `shape` with `values`.
inline void add_constant_node(model_builder& b, const std::string& out, shape_t shape, std::vector<float> values) {
    auto* n = b.node("Constant", {}, {out});
    n->set_name(out + "_node");
    auto* a = n->add_attribute();
    a->set_name("value");
    a->set_type(::onnx::AttributeProto::TENSOR);
    auto* t = a->mutable_t();
    t->set_data_type(::onnx::TensorProto::FLOAT);
    for (auto d : shape) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
}

inline void add_int64_initializer(model_builder& b, const std::string& name, shape_t shape,
                                  std::vector<std::int64_t> values) {
    auto* t = b.g->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::INT64);
    for (auto d : shape) t->add_dims(d);
    for (auto v : values) t->add_int64_data(v);
}

}  // namespace ktc::testing
