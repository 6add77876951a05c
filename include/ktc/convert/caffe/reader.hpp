// ktc/convert/caffe/reader.hpp - read a Caffe prototxt (text) and caffemodel (binary) into
// DynamicMessages of caffe/schema.hpp, and a read-only view that reads their fields by name.
//
// Parse failures become file_error naming the file (and for the text form the line and column).
// Unknown fields in the text form are skipped where they cannot change what the converter
// computes (training settings at the net and layer level, fillers, learning rates) and refused
// inside the parameters the converter reads: silently dropping e.g. a pooling option of a Caffe
// fork would give a model that runs and computes something else.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include "ktc/convert/caffe/schema.hpp"
#include "ktc/core/read_file.hpp"

namespace ktc::convert::caffe {

// Fields of one parsed message, by name. A field the schema lacks is a bug here, not in the file.
class message_view {
public:
    explicit message_view(const pb::Message& m) : m_(&m) {}

    // Set in the file (for a repeated field: at least one value).
    bool has(const char* name) const {
        const auto* f = field(name);
        return f->is_repeated() ? refl().FieldSize(*m_, f) > 0 : refl().HasField(*m_, f);
    }
    int count(const char* name) const { return refl().FieldSize(*m_, field(name)); }

    std::int64_t integer(const char* name) const { return refl().GetInt64(*m_, field(name)); }
    float real(const char* name) const { return refl().GetFloat(*m_, field(name)); }
    bool flag(const char* name) const { return refl().GetBool(*m_, field(name)); }
    std::string text(const char* name) const { return refl().GetString(*m_, field(name)); }
    std::string enum_name(const char* name) const { return refl().GetEnum(*m_, field(name))->name(); }
    message_view sub(const char* name) const { return message_view(refl().GetMessage(*m_, field(name))); }

    std::vector<std::int64_t> integers(const char* name) const { return repeated<std::int64_t>(name); }
    std::vector<float> reals(const char* name) const { return repeated<float>(name); }
    std::vector<double> reals64(const char* name) const { return repeated<double>(name); }
    std::vector<std::string> texts(const char* name) const { return repeated<std::string>(name); }
    std::vector<message_view> subs(const char* name) const {
        std::vector<message_view> out;
        const auto* f = field(name);
        for (int i = 0, n = refl().FieldSize(*m_, f); i < n; ++i)
            out.emplace_back(refl().GetRepeatedMessage(*m_, f, i));
        return out;
    }

private:
    const pb::Reflection& refl() const { return *m_->GetReflection(); }
    const pb::FieldDescriptor* field(const char* name) const {
        const auto* f = m_->GetDescriptor()->FindFieldByName(name);
        if (!f) throw error("Caffe reader: " + m_->GetDescriptor()->full_name() + " has no field '" + name + "'");
        return f;
    }
    template <class T>
    std::vector<T> repeated(const char* name) const {
        const auto values = refl().GetRepeatedFieldRef<T>(*m_, field(name));
        return std::vector<T>(values.begin(), values.end());
    }

    const pb::Message* m_;
};

namespace reader_detail {

// Messages whose unknown fields may be skipped: they hold only training or bookkeeping settings.
inline bool harmless_unknown_in(const std::string& type) {
    static const std::set<std::string> harmless{
        "caffe.NetParameter", "caffe.LayerParameter", "caffe.V1LayerParameter", "caffe.NetState",
        "caffe.NetStateRule", "caffe.ParamSpec",      "caffe.FillerParameter",  "caffe.DropoutParameter"};
    return harmless.count(type) != 0;
}

// Collects the first error and every skipped unknown field of TextFormat (lines are 0-based there).
class text_errors : public pb::io::ErrorCollector {
public:
    void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {
        if (first_error.empty()) first_error = where(line, column) + message;
    }
    void AddWarning(int line, pb::io::ColumnNumber column, const std::string& message) override {
        // protobuf words it: Message type "caffe.X" has no field named "y".
        const auto open = message.find('"');
        const auto close = open == std::string::npos ? open : message.find('"', open + 1);
        const std::string type = close == std::string::npos ? "" : message.substr(open + 1, close - open - 1);
        if (refused.empty() && !harmless_unknown_in(type)) refused = where(line, column) + message;
    }
    std::string first_error, refused;

private:
    static std::string where(int line, int column) {
        return "line " + std::to_string(line + 1) + " column " + std::to_string(column + 1) + ": ";
    }
};

}  // namespace reader_detail

// Largest files read: a prototxt is a few hundred KB at most; a caffemodel is one protobuf message,
// which protobuf limits to 2 GiB.
inline constexpr std::uintmax_t max_prototxt_bytes = std::uintmax_t{64} << 20;
inline constexpr std::uintmax_t max_caffemodel_bytes = (std::uintmax_t{2} << 30) - 1;

inline std::unique_ptr<pb::Message> read_prototxt(const schema& s, const std::filesystem::path& path) {
    const std::string bytes = read_whole_file(path, max_prototxt_bytes, "a Caffe prototxt");
    // An empty text message parses: without this, an empty file would read as a net with no layers.
    if (bytes.empty()) throw file_error(path.string(), "empty file, not a Caffe prototxt");
    auto net = s.new_net();
    reader_detail::text_errors errors;
    pb::TextFormat::Parser parser;
    parser.RecordErrorsTo(&errors);
    parser.AllowUnknownField(true);
    if (!parser.ParseFromString(bytes, net.get()))
        throw file_error(
            path.string(),
            "not a Caffe prototxt: " + (errors.first_error.empty() ? "text format parse error" : errors.first_error));
    if (!errors.refused.empty())
        throw unsupported_error(path.string() + ": " + errors.refused +
                                " (a layer option ktc's Caffe reader does not know)");
    return net;
}

inline std::unique_ptr<pb::Message> read_caffemodel(const schema& s, const std::filesystem::path& path) {
    const std::string bytes = read_whole_file(path, max_caffemodel_bytes, "a caffemodel");
    if (bytes.empty()) throw file_error(path.string(), "empty file, not a caffemodel");
    auto net = s.new_net();
    if (!net->ParseFromString(bytes))
        throw file_error(path.string(),
                         "not a Caffe binary NetParameter: protobuf wire format error (truncated or corrupt)");
    return net;
}

}  // namespace ktc::convert::caffe
