// ktc/onnx/tensor_proto.hpp - onnx::TensorProto <-> ktc::tensor, and ONNX's data-type codes.
#pragma once

#include <cstring>
#include <string>

#include <onnx/onnx_pb.h>

#include "ktc/core/tensor.hpp"

namespace ktc::onnx {

// The ktc dtype of an ONNX TensorProto data type; throws unsupported_error for types ktc has no
// kernels for (float16, bfloat16, string, complex).
inline dtype dtype_from_onnx(int onnx_type, const std::string& what) {
    using TP = ::onnx::TensorProto;
    switch (onnx_type) {
        case TP::FLOAT: return dtype::float32;
        case TP::DOUBLE: return dtype::float64;
        case TP::INT8: return dtype::int8;
        case TP::UINT8: return dtype::uint8;
        case TP::INT16: return dtype::int16;
        case TP::UINT16: return dtype::uint16;
        case TP::INT32: return dtype::int32;
        case TP::UINT32: return dtype::uint32;
        case TP::INT64: return dtype::int64;
        case TP::UINT64: return dtype::uint64;
        case TP::BOOL: return dtype::boolean;
        default:
            throw unsupported_error(what + ": ONNX data type " + ::onnx::TensorProto_DataType_Name(onnx_type) +
                                    " is not supported (ktc handles numeric types and bool)");
    }
}

inline int onnx_from_dtype(dtype t) {
    using TP = ::onnx::TensorProto;
    switch (t) {
        case dtype::float32: return TP::FLOAT;
        case dtype::float64: return TP::DOUBLE;
        case dtype::int8: return TP::INT8;
        case dtype::uint8: return TP::UINT8;
        case dtype::int16: return TP::INT16;
        case dtype::uint16: return TP::UINT16;
        case dtype::int32: return TP::INT32;
        case dtype::uint32: return TP::UINT32;
        case dtype::int64: return TP::INT64;
        case dtype::uint64: return TP::UINT64;
        case dtype::boolean: return TP::BOOL;
    }
    return TP::UNDEFINED;
}

// Converts a TensorProto; `what` names it in errors (e.g. "initializer 'conv1.weight'").
inline tensor from_proto(const ::onnx::TensorProto& p, const std::string& what) {
    if (p.data_location() == ::onnx::TensorProto::EXTERNAL)
        throw unsupported_error(what + ": external tensor data is not supported");
    if (p.has_segment()) throw unsupported_error(what + ": segmented tensors are not supported");
    const dtype type = dtype_from_onnx(p.data_type(), what);
    shape_t shape(p.dims().begin(), p.dims().end());
    std::int64_t count = 0;
    try {
        count = element_count(shape);
    } catch (const error& e) {
        throw error(what + ": shape " + to_string(shape) + ": " + e.what(), exit_code::bad_file);
    }
    // The data is checked against the shape before the tensor is allocated: a header declaring
    // 2^31 elements over a few bytes of data must not cost 8 GiB first.
    const std::size_t bytes = static_cast<std::size_t>(count) * size_of(type);
    if (p.has_raw_data()) {
        if (p.raw_data().size() != bytes)
            throw error(what + ": raw_data holds " + std::to_string(p.raw_data().size()) + " bytes, shape " +
                            to_string(shape) + " needs " + std::to_string(bytes),
                        exit_code::bad_file);
        tensor t(type, shape);
        if (bytes) std::memcpy(t.raw(), p.raw_data().data(), bytes);
        return t;
    }
    // Typed fields: each ONNX type lives in one of them, widened.
    tensor t;
    auto fill = [&](const auto& field, const char* field_name) {
        if (field.size() != count)
            throw error(what + ": " + field_name + " holds " + std::to_string(field.size()) + " values, shape " +
                            to_string(shape) + " needs " + std::to_string(count),
                        exit_code::bad_file);
        t = tensor(type, shape);
        visit_dtype(type, [&](auto tag) {
            using T = decltype(tag);
            T* dst = t.data<T>();
            for (std::int64_t i = 0; i < count; ++i) dst[i] = static_cast<T>(field.Get(static_cast<int>(i)));
        });
    };
    switch (type) {
        case dtype::float32: fill(p.float_data(), "float_data"); break;
        case dtype::float64: fill(p.double_data(), "double_data"); break;
        case dtype::int64: fill(p.int64_data(), "int64_data"); break;
        case dtype::uint32:
        case dtype::uint64: fill(p.uint64_data(), "uint64_data"); break;
        default: fill(p.int32_data(), "int32_data"); break;
    }
    return t;
}

inline ::onnx::TensorProto to_proto(const tensor& t, const std::string& name) {
    ::onnx::TensorProto p;
    p.set_name(name);
    p.set_data_type(onnx_from_dtype(t.type()));
    for (auto d : t.shape()) p.add_dims(d);
    p.set_raw_data(std::string(reinterpret_cast<const char*>(t.raw()), t.byte_size()));
    return p;
}

}  // namespace ktc::onnx
