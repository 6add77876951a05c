// ktc/convert/tflite/reader.hpp - reads a .tflite file into plain structs through libflatbuffers'
// generic Table API, with every table, vector and string checked by flatbuffers::Verifier before
// it is read: a truncated or corrupted file is a file_error, never a read out of bounds.
//
// Only subgraph 0 (the model) is read; other subgraphs belong to control-flow ops, which the
// converter refuses by name.
#pragma once

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "ktc/convert/tflite/schema.hpp"
#include "ktc/core/error.hpp"
#include "ktc/core/read_file.hpp"

namespace ktc::convert::tflite {

// The largest file read: flatbuffers' offsets are 32-bit signed.
inline constexpr std::uintmax_t max_model_bytes = (std::uintmax_t{1} << 31) - 1;

namespace detail {

constexpr flatbuffers::voffset_t slot(int field_id) { return static_cast<flatbuffers::voffset_t>(4 + 2 * field_id); }

// Verified access to the tables of one buffer. `what` names the piece read, for the error.
class checked_buffer {
public:
    checked_buffer(std::string path, const std::string& bytes)
        : path_(std::move(path)),
          data_(reinterpret_cast<const std::uint8_t*>(bytes.data())),
          size_(bytes.size()),
          verifier_(data_, size_, verifier_options()) {}

    const flatbuffers::Table* root() {
        if (size_ < 8) fail("too short for a flatbuffer (" + std::to_string(size_) + " bytes)");
        if (!flatbuffers::BufferHasIdentifier(data_, schema::file_identifier))
            fail("not a TFLite model (no 'TFL3' file identifier)");
        const auto at = verifier_.VerifyOffset(0);
        if (!at) fail("bad root table offset");
        return checked_table(reinterpret_cast<const flatbuffers::Table*>(data_ + at), "the model table");
    }

    template <class T>
    T scalar(const flatbuffers::Table* t, int id, T fallback, const std::string& what) {
        if (!t->VerifyField<T>(verifier_, slot(id), sizeof(T))) fail(what + " is out of bounds");
        return t->GetField<T>(slot(id), fallback);
    }

    // A sub-table, or nullptr when the field is absent.
    const flatbuffers::Table* table(const flatbuffers::Table* t, int id, const std::string& what) {
        if (!t->VerifyOffset(verifier_, slot(id))) fail(what + " has a bad offset");
        const auto* sub = t->GetPointer<const flatbuffers::Table*>(slot(id));
        return sub ? checked_table(sub, what) : nullptr;
    }

    // A vector of scalars (empty when absent); elements may be unaligned, so they are copied.
    template <class T>
    std::vector<T> vector(const flatbuffers::Table* t, int id, const std::string& what) {
        const auto* v = checked_vector<T>(t, id, what);
        std::vector<T> out(v ? v->size() : 0);
        if (!out.empty()) std::memcpy(out.data(), v->Data(), out.size() * sizeof(T));
        return out;
    }

    // The bytes of a [ubyte] vector, in place.
    std::span<const std::uint8_t> bytes(const flatbuffers::Table* t, int id, const std::string& what) {
        const auto* v = checked_vector<std::uint8_t>(t, id, what);
        return v ? std::span<const std::uint8_t>(v->Data(), v->size()) : std::span<const std::uint8_t>{};
    }

    // Bytes addressed by an absolute file offset (Buffer.offset/size of models over 2 GB).
    std::span<const std::uint8_t> file_range(std::uint64_t offset, std::uint64_t size, const std::string& what) {
        if (offset > size_ || size > size_ - offset) fail(what + " lies outside the file");
        return {data_ + offset, static_cast<std::size_t>(size)};
    }

    std::vector<const flatbuffers::Table*> tables(const flatbuffers::Table* t, int id, const std::string& what) {
        const auto* v = checked_vector<flatbuffers::Offset<flatbuffers::Table>>(t, id, what);
        std::vector<const flatbuffers::Table*> out;
        if (!v) return out;
        out.reserve(v->size());
        for (flatbuffers::uoffset_t i = 0; i < v->size(); ++i) {
            // Vector<Offset<Table>>::Get follows the offset: verify it first.
            const auto element = static_cast<std::size_t>(reinterpret_cast<const std::uint8_t*>(v->Data()) +
                                                          i * sizeof(flatbuffers::uoffset_t) - data_);
            if (!verifier_.VerifyOffset(element)) fail(what + " [" + std::to_string(i) + "] has a bad offset");
            out.push_back(checked_table(v->Get(i), what + " [" + std::to_string(i) + "]"));
        }
        return out;
    }

    std::string string(const flatbuffers::Table* t, int id, const std::string& what) {
        if (!t->VerifyOffset(verifier_, slot(id))) fail(what + " has a bad offset");
        const auto* s = t->GetPointer<const flatbuffers::String*>(slot(id));
        if (!verifier_.VerifyString(s)) fail(what + " is out of bounds");
        return s ? s->str() : std::string();
    }

    [[noreturn]] void fail(const std::string& what) const {
        throw file_error(path_, "truncated or corrupt TFLite flatbuffer: " + what);
    }

private:
    static flatbuffers::Verifier::Options verifier_options() {
        flatbuffers::Verifier::Options o;
        o.check_nested_flatbuffers = false;
        return o;
    }

    const flatbuffers::Table* checked_table(const flatbuffers::Table* t, const std::string& what) {
        if (!t->VerifyTableStart(verifier_)) fail(what + " is out of bounds");
        // Fields are verified as they are read, so the verifier's nesting depth ends here.
        verifier_.EndTable();
        return t;
    }

    template <class T>
    const flatbuffers::Vector<T>* checked_vector(const flatbuffers::Table* t, int id, const std::string& what) {
        if (!t->VerifyOffset(verifier_, slot(id))) fail(what + " has a bad offset");
        const auto* v = t->GetPointer<const flatbuffers::Vector<T>*>(slot(id));
        if (!verifier_.VerifyVector(v)) fail(what + " is out of bounds");
        return v;
    }

    std::string path_;
    const std::uint8_t* data_;
    std::size_t size_;
    flatbuffers::Verifier verifier_;
};

}  // namespace detail

struct tensor_info {
    std::string name;
    std::vector<std::int32_t> shape;
    std::int8_t type = 0;                // schema::tensor_type
    std::span<const std::uint8_t> data;  // constant contents; empty for activations
    bool quantized = false;              // has QuantizationParameters
    bool is_variable = false;
};

// The options table of one operator, read on demand (each field is verified when read).
class options_table {
public:
    options_table() = default;
    options_table(detail::checked_buffer* buffer, const flatbuffers::Table* table, std::string where)
        : buffer_(buffer), table_(table), where_(std::move(where)) {}

    template <class T>
    T get(int id, T fallback) const {
        return table_ ? buffer_->scalar<T>(table_, id, fallback, where_ + " option " + std::to_string(id)) : fallback;
    }
    std::int32_t i32(int id, std::int32_t fallback = 0) const { return get<std::int32_t>(id, fallback); }
    std::int8_t i8(int id, std::int8_t fallback = 0) const { return get<std::int8_t>(id, fallback); }
    bool flag(int id) const { return get<std::uint8_t>(id, 0) != 0; }
    float f32(int id, float fallback = 0.f) const { return get<float>(id, fallback); }

private:
    detail::checked_buffer* buffer_ = nullptr;
    const flatbuffers::Table* table_ = nullptr;
    std::string where_;
};

struct operator_info {
    int opcode = 0;                             // BuiltinOperator
    std::string custom_code;                    // for CUSTOM
    std::vector<std::int32_t> inputs, outputs;  // tensor indices; -1 is an omitted optional input
    options_table options;
};

struct model {
    // The file's bytes and their checker: the spans and options below point into them.
    std::unique_ptr<const std::string> storage;
    std::unique_ptr<detail::checked_buffer> checker;
    std::string path;
    std::uint32_t version = 0;
    std::vector<tensor_info> tensors;
    std::vector<operator_info> operators;
    std::vector<std::int32_t> inputs, outputs;
};

namespace detail {

struct opcode_info {
    int builtin = 0;
    std::string custom;
};

inline std::vector<opcode_info> read_opcodes(checked_buffer& buf, const flatbuffers::Table* root) {
    std::vector<opcode_info> codes;
    for (const auto* code : buf.tables(root, schema::model::operator_codes, "Model.operator_codes")) {
        namespace f = schema::operator_code;
        // Files written before the builtin_code field set only the 8-bit deprecated one; newer
        // files set both (the old one capped at 127): the larger is the operator.
        const int old_code =
            buf.scalar<std::int8_t>(code, f::deprecated_builtin_code, 0, "OperatorCode.deprecated_builtin_code");
        const int new_code = buf.scalar<std::int32_t>(code, f::builtin_code, 0, "OperatorCode.builtin_code");
        codes.push_back({std::max(old_code, new_code), buf.string(code, f::custom_code, "OperatorCode.custom_code")});
    }
    return codes;
}

inline std::vector<std::span<const std::uint8_t>> read_buffers(checked_buffer& buf, const flatbuffers::Table* root) {
    std::vector<std::span<const std::uint8_t>> buffers;
    for (const auto* b : buf.tables(root, schema::model::buffers, "Model.buffers")) {
        const std::string what = "Buffer " + std::to_string(buffers.size());
        auto data = buf.bytes(b, schema::buffer::data, what + " data");
        const auto offset = buf.scalar<std::uint64_t>(b, schema::buffer::offset, 0, what + " offset");
        const auto size = buf.scalar<std::uint64_t>(b, schema::buffer::size, 0, what + " size");
        if (data.empty() && offset > 1) data = buf.file_range(offset, size, what);
        buffers.push_back(data);
    }
    return buffers;
}

}  // namespace detail

// Reads and verifies `path`.
inline model read_model(const std::filesystem::path& path) {
    model m;
    m.path = path.string();
    m.storage = std::make_unique<const std::string>(read_whole_file(path, max_model_bytes, "a TFLite model"));
    m.checker = std::make_unique<detail::checked_buffer>(m.path, *m.storage);
    auto& buf = *m.checker;
    const auto* root = buf.root();

    m.version = buf.scalar<std::uint32_t>(root, schema::model::version, 0, "Model.version");
    const auto opcodes = detail::read_opcodes(buf, root);
    const auto buffers = detail::read_buffers(buf, root);
    const auto subgraphs = buf.tables(root, schema::model::subgraphs, "Model.subgraphs");
    if (subgraphs.empty()) throw file_error(m.path, "the TFLite model has no subgraph");
    const auto* sg = subgraphs[0];

    for (const auto* t : buf.tables(sg, schema::subgraph::tensors, "SubGraph.tensors")) {
        namespace f = schema::tensor;
        const std::string what = "Tensor " + std::to_string(m.tensors.size());
        tensor_info info;
        info.name = buf.string(t, f::name, what + " name");
        info.shape = buf.vector<std::int32_t>(t, f::shape, what + " shape");
        info.type = buf.scalar<std::int8_t>(t, f::type, 0, what + " type");
        info.quantized = buf.table(t, f::quantization, what + " quantization") != nullptr;
        info.is_variable = buf.scalar<std::uint8_t>(t, f::is_variable, 0, what + " is_variable") != 0;
        const auto index = buf.scalar<std::uint32_t>(t, f::buffer, 0, what + " buffer");
        if (index >= buffers.size() && index != 0)
            throw file_error(m.path, what + " ('" + info.name + "') refers to buffer " + std::to_string(index) +
                                         " of " + std::to_string(buffers.size()));
        if (index < buffers.size()) info.data = buffers[index];
        m.tensors.push_back(std::move(info));
    }
    auto check_indices = [&](const std::vector<std::int32_t>& indices, const std::string& what, bool optional) {
        for (const auto i : indices)
            if ((i < 0 && !(optional && i == -1)) || i >= static_cast<std::int32_t>(m.tensors.size()))
                throw file_error(m.path, what + " refers to tensor " + std::to_string(i) + " of " +
                                             std::to_string(m.tensors.size()));
    };
    m.inputs = buf.vector<std::int32_t>(sg, schema::subgraph::inputs, "SubGraph.inputs");
    m.outputs = buf.vector<std::int32_t>(sg, schema::subgraph::outputs, "SubGraph.outputs");
    check_indices(m.inputs, "SubGraph.inputs", false);
    check_indices(m.outputs, "SubGraph.outputs", false);

    for (const auto* o : buf.tables(sg, schema::subgraph::operators, "SubGraph.operators")) {
        namespace f = schema::op;
        const std::string what = "Operator " + std::to_string(m.operators.size());
        operator_info op;
        const auto code = buf.scalar<std::uint32_t>(o, f::opcode_index, 0, what + " opcode_index");
        if (code >= opcodes.size())
            throw file_error(
                m.path, what + " has opcode index " + std::to_string(code) + " of " + std::to_string(opcodes.size()));
        op.opcode = opcodes[code].builtin;
        op.custom_code = opcodes[code].custom;
        op.inputs = buf.vector<std::int32_t>(o, f::inputs, what + " inputs");
        op.outputs = buf.vector<std::int32_t>(o, f::outputs, what + " outputs");
        check_indices(op.inputs, what + " inputs", true);
        check_indices(op.outputs, what + " outputs", false);
        op.options = options_table(&buf, buf.table(o, f::builtin_options, what + " options"),
                                   what + " (" + schema::builtin_name(op.opcode) + ")");
        m.operators.push_back(std::move(op));
    }
    return m;
}

}  // namespace ktc::convert::tflite
