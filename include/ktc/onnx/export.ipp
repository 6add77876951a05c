// ktc/onnx/export.ipp - the definitions behind export.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/onnx/export.hpp"

namespace ktc::onnx {
namespace detail {

KTC_DECL void value_info_to_proto(const graph::value_info& info, ::onnx::ValueInfoProto* p) {
    p->set_name(info.name);
    auto* tt = p->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx_from_dtype(info.type));
    if (!info.rank_known) return;
    auto* shape = tt->mutable_shape();
    for (auto d : info.shape) {
        auto* dim = shape->add_dim();
        if (d >= 0) dim->set_dim_value(d);
    }
}

KTC_DECL void attribute_to_proto(const std::string& name, const graph::attribute& a, ::onnx::AttributeProto* p) {
    using AP = ::onnx::AttributeProto;
    p->set_name(name);
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::int64_t>) {
                p->set_type(AP::INT), p->set_i(v);
            } else if constexpr (std::is_same_v<T, float>) {
                p->set_type(AP::FLOAT), p->set_f(v);
            } else if constexpr (std::is_same_v<T, std::string>) {
                p->set_type(AP::STRING), p->set_s(v);
            } else if constexpr (std::is_same_v<T, tensor>) {
                p->set_type(AP::TENSOR), *p->mutable_t() = to_proto(v, "");
            } else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
                p->set_type(AP::INTS);
                for (auto x : v) p->add_ints(x);
            } else if constexpr (std::is_same_v<T, std::vector<float>>) {
                p->set_type(AP::FLOATS);
                for (auto x : v) p->add_floats(x);
            } else {
                p->set_type(AP::STRINGS);
                for (const auto& x : v) p->add_strings(x);
            }
        },
        a);
}

}  // namespace detail
KTC_DECL ::onnx::ModelProto to_model(const graph::graph& g) {
    ::onnx::ModelProto m;
    m.set_ir_version(8);
    m.set_producer_name("ktc");
    auto* opset = m.add_opset_import();
    opset->set_domain("");
    opset->set_version(g.opset);
    auto* gp = m.mutable_graph();
    gp->set_name(g.name.empty() ? "ktc" : g.name);
    for (const auto& in : g.inputs) detail::value_info_to_proto(in, gp->add_input());
    for (const auto& out : g.outputs) detail::value_info_to_proto(out, gp->add_output());
    for (const auto& [name, t] : g.initializers) *gp->add_initializer() = to_proto(t, name);
    for (const auto& [name, info] : g.value_infos)
        if (!g.is_graph_input(name) && !g.is_graph_output(name))
            detail::value_info_to_proto(info, gp->add_value_info());
    for (const graph::vertex v : g.topological_order()) {
        const graph::node& n = g[v];
        auto* np = gp->add_node();
        np->set_name(n.name);
        np->set_op_type(n.op_type);
        if (!n.domain.empty()) np->set_domain(n.domain);
        for (const auto& in : n.inputs) np->add_input(in);
        for (const auto& out : n.outputs) np->add_output(out);
        for (const auto& [name, a] : n.attrs.all()) detail::attribute_to_proto(name, a, np->add_attribute());
    }
    return m;
}

KTC_DECL void save_model(const ::onnx::ModelProto& m, const std::filesystem::path& path) {
    try {
        ::onnx::checker::check_model(m);
    } catch (const std::exception& e) {
        std::string what = e.what();
        throw error(path.string() + ": refusing to write an invalid model: " + what.substr(0, what.find('\n')));
    }
    std::string bytes;
    if (!m.SerializeToString(&bytes)) throw error(path.string() + ": model serialization failed");
    write_file_atomically(path, bytes);
}

}  // namespace ktc::onnx
