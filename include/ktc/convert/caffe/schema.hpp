// ktc/convert/caffe/schema.hpp - the part of caffe.proto the converter reads, built at run time.
//
// The library is header-only, so there is no generated code: the message types are described
// here as tables (names, field numbers and defaults are those of Caffe's public caffe.proto,
// including the SSD fork's PermuteParameter), turned into a FileDescriptorProto and loaded into a
// private DescriptorPool. DynamicMessage then parses the text prototxt and the binary caffemodel.
//
// Every integer field is declared int64: the wire form (varint) is the same for Caffe's int32,
// uint32 and int64 fields, and one C++ type keeps the reflection code short. Fields Caffe uses
// only for training (fillers, learning rates, include rules) are declared so that ordinary deploy
// files parse without unknown fields; anything else is skipped when parsing the text form (see
// caffe/reader.hpp for which skipped fields are refused).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>

#include "ktc/core/error.hpp"

// One line per schema table, as the schema lays them out:
// clang-format off
namespace ktc::convert::caffe {

namespace pb = google::protobuf;

enum class field_kind { integer, real, real64, boolean, text, message, enumeration };

struct field_spec {
    const char* name;
    int number;
    field_kind kind;
    bool repeated = false;
    const char* type = "";      // message or enum type, fully qualified without the leading dot
    const char* fallback = "";  // Caffe's default as .proto text ("" = the type's zero)
};

struct enum_spec {
    const char* name;
    std::vector<std::pair<const char*, int>> values;
};

struct message_spec {
    const char* name;
    std::vector<field_spec> fields;
    std::vector<enum_spec> enums = {};
};

namespace schema_detail {

constexpr auto i64 = field_kind::integer;
constexpr auto f32 = field_kind::real;
constexpr auto f64 = field_kind::real64;
constexpr auto flag = field_kind::boolean;
constexpr auto str = field_kind::text;
constexpr auto msg = field_kind::message;
constexpr auto enm = field_kind::enumeration;
constexpr bool rep = true;
constexpr bool one = false;

inline const enum_spec engine_enum{"Engine", {{"DEFAULT", 0}, {"CAFFE", 1}, {"CUDNN", 2}}};

// The messages, in dependency-free order (a DescriptorPool resolves names within one file).
inline std::vector<message_spec> caffe_messages() {
    return {
        {"BlobShape", {{"dim", 1, i64, rep}}},
        {"BlobProto",
         {{"shape", 7, msg, one, "caffe.BlobShape"},
          {"data", 5, f32, rep},
          {"double_data", 8, f64, rep},
          {"num", 1, i64},
          {"channels", 2, i64},
          {"height", 3, i64},
          {"width", 4, i64}}},
        {"NetState",
         {{"phase", 1, enm, one, "caffe.Phase", "TEST"}, {"level", 2, i64}, {"stage", 3, str, rep}}},
        {"NetStateRule",
         {{"phase", 1, enm, one, "caffe.Phase"},
          {"min_level", 2, i64},
          {"max_level", 3, i64},
          {"stage", 4, str, rep},
          {"not_stage", 5, str, rep}}},
        {"ParamSpec",
         {{"name", 1, str},
          {"share_mode", 2, enm, one, "caffe.ParamSpec.DimCheckMode"},
          {"lr_mult", 3, f32, one, "", "1"},
          {"decay_mult", 4, f32, one, "", "1"}},
         {{"DimCheckMode", {{"STRICT", 0}, {"PERMISSIVE", 1}}}}},
        {"FillerParameter",
         {{"type", 1, str, one, "", "constant"},
          {"value", 2, f32},
          {"min", 3, f32},
          {"max", 4, f32, one, "", "1"},
          {"mean", 5, f32},
          {"std", 6, f32, one, "", "1"},
          {"sparse", 7, i64, one, "", "-1"},
          {"variance_norm", 8, enm, one, "caffe.FillerParameter.VarianceNorm"}},
         {{"VarianceNorm", {{"FAN_IN", 0}, {"FAN_OUT", 1}, {"AVERAGE", 2}}}}},
        {"ConvolutionParameter",
         {{"num_output", 1, i64},
          {"bias_term", 2, flag, one, "", "true"},
          {"pad", 3, i64, rep},
          {"kernel_size", 4, i64, rep},
          {"group", 5, i64, one, "", "1"},
          {"stride", 6, i64, rep},
          {"weight_filler", 7, msg, one, "caffe.FillerParameter"},
          {"bias_filler", 8, msg, one, "caffe.FillerParameter"},
          {"pad_h", 9, i64},
          {"pad_w", 10, i64},
          {"kernel_h", 11, i64},
          {"kernel_w", 12, i64},
          {"stride_h", 13, i64},
          {"stride_w", 14, i64},
          {"engine", 15, enm, one, "caffe.ConvolutionParameter.Engine"},
          {"axis", 16, i64, one, "", "1"},
          {"force_nd_im2col", 17, flag},
          {"dilation", 18, i64, rep}},
         {engine_enum}},
        {"PoolingParameter",
         {{"pool", 1, enm, one, "caffe.PoolingParameter.PoolMethod", "MAX"},
          {"kernel_size", 2, i64},
          {"stride", 3, i64, one, "", "1"},
          {"pad", 4, i64},
          {"kernel_h", 5, i64},
          {"kernel_w", 6, i64},
          {"stride_h", 7, i64},
          {"stride_w", 8, i64},
          {"pad_h", 9, i64},
          {"pad_w", 10, i64},
          {"engine", 11, enm, one, "caffe.PoolingParameter.Engine"},
          {"global_pooling", 12, flag},
          {"round_mode", 13, enm, one, "caffe.PoolingParameter.RoundMode", "CEIL"}},
         {{"PoolMethod", {{"MAX", 0}, {"AVE", 1}, {"STOCHASTIC", 2}}},
          engine_enum,
          {"RoundMode", {{"CEIL", 0}, {"FLOOR", 1}}}}},
        {"InnerProductParameter",
         {{"num_output", 1, i64},
          {"bias_term", 2, flag, one, "", "true"},
          {"weight_filler", 3, msg, one, "caffe.FillerParameter"},
          {"bias_filler", 4, msg, one, "caffe.FillerParameter"},
          {"axis", 5, i64, one, "", "1"},
          {"transpose", 6, flag}}},
        {"ReLUParameter",
         {{"negative_slope", 1, f32}, {"engine", 2, enm, one, "caffe.ReLUParameter.Engine"}},
         {engine_enum}},
        {"PReLUParameter",
         {{"filler", 1, msg, one, "caffe.FillerParameter"}, {"channel_shared", 2, flag}}},
        {"SigmoidParameter", {{"engine", 1, enm, one, "caffe.SigmoidParameter.Engine"}}, {engine_enum}},
        {"TanHParameter", {{"engine", 1, enm, one, "caffe.TanHParameter.Engine"}}, {engine_enum}},
        {"SoftmaxParameter",
         {{"engine", 1, enm, one, "caffe.SoftmaxParameter.Engine"}, {"axis", 2, i64, one, "", "1"}},
         {engine_enum}},
        {"BatchNormParameter",
         {{"use_global_stats", 1, flag},
          {"moving_average_fraction", 2, f32, one, "", "0.999"},
          {"eps", 3, f32, one, "", "1e-05"}}},
        {"ScaleParameter",
         {{"axis", 1, i64, one, "", "1"},
          {"num_axes", 2, i64, one, "", "1"},
          {"filler", 3, msg, one, "caffe.FillerParameter"},
          {"bias_term", 4, flag},
          {"bias_filler", 5, msg, one, "caffe.FillerParameter"}}},
        {"EltwiseParameter",
         {{"operation", 1, enm, one, "caffe.EltwiseParameter.EltwiseOp", "SUM"},
          {"coeff", 2, f32, rep},
          {"stable_prod_grad", 3, flag, one, "", "true"}},
         {{"EltwiseOp", {{"PROD", 0}, {"SUM", 1}, {"MAX", 2}}}}},
        {"ConcatParameter", {{"concat_dim", 1, i64, one, "", "1"}, {"axis", 2, i64, one, "", "1"}}},
        {"DropoutParameter",
         {{"dropout_ratio", 1, f32, one, "", "0.5"}, {"scale_train", 2, flag, one, "", "true"}}},
        {"FlattenParameter", {{"axis", 1, i64, one, "", "1"}, {"end_axis", 2, i64, one, "", "-1"}}},
        {"ReshapeParameter",
         {{"shape", 1, msg, one, "caffe.BlobShape"},
          {"axis", 2, i64},
          {"num_axes", 3, i64, one, "", "-1"}}},
        {"PermuteParameter", {{"order", 1, i64, rep}}},
        {"InputParameter", {{"shape", 1, msg, rep, "caffe.BlobShape"}}},
        {"LayerParameter",
         {{"name", 1, str},
          {"type", 2, str},
          {"bottom", 3, str, rep},
          {"top", 4, str, rep},
          {"loss_weight", 5, f32, rep},
          {"param", 6, msg, rep, "caffe.ParamSpec"},
          {"blobs", 7, msg, rep, "caffe.BlobProto"},
          {"include", 8, msg, rep, "caffe.NetStateRule"},
          {"exclude", 9, msg, rep, "caffe.NetStateRule"},
          {"phase", 10, enm, one, "caffe.Phase"},
          {"propagate_down", 11, flag, rep},
          {"concat_param", 104, msg, one, "caffe.ConcatParameter"},
          {"convolution_param", 106, msg, one, "caffe.ConvolutionParameter"},
          {"dropout_param", 108, msg, one, "caffe.DropoutParameter"},
          {"eltwise_param", 110, msg, one, "caffe.EltwiseParameter"},
          {"inner_product_param", 117, msg, one, "caffe.InnerProductParameter"},
          {"pooling_param", 121, msg, one, "caffe.PoolingParameter"},
          {"relu_param", 123, msg, one, "caffe.ReLUParameter"},
          {"sigmoid_param", 124, msg, one, "caffe.SigmoidParameter"},
          {"softmax_param", 125, msg, one, "caffe.SoftmaxParameter"},
          {"tanh_param", 127, msg, one, "caffe.TanHParameter"},
          {"prelu_param", 131, msg, one, "caffe.PReLUParameter"},
          {"reshape_param", 133, msg, one, "caffe.ReshapeParameter"},
          {"flatten_param", 135, msg, one, "caffe.FlattenParameter"},
          {"batch_norm_param", 139, msg, one, "caffe.BatchNormParameter"},
          {"scale_param", 142, msg, one, "caffe.ScaleParameter"},
          {"input_param", 143, msg, one, "caffe.InputParameter"},
          {"permute_param", 202, msg, one, "caffe.PermuteParameter"}}},
        // The pre-2015 layer format: only what finding weights by name needs.
        {"V1LayerParameter",
         {{"bottom", 2, str, rep}, {"top", 3, str, rep}, {"name", 4, str}, {"blobs", 6, msg, rep, "caffe.BlobProto"}}},
        {"NetParameter",
         {{"name", 1, str},
          {"layers", 2, msg, rep, "caffe.V1LayerParameter"},
          {"input", 3, str, rep},
          {"input_dim", 4, i64, rep},
          {"force_backward", 5, flag},
          {"state", 6, msg, one, "caffe.NetState"},
          {"debug_info", 7, flag},
          {"input_shape", 8, msg, rep, "caffe.BlobShape"},
          {"layer", 100, msg, rep, "caffe.LayerParameter"}}},
    };
}

inline pb::FieldDescriptorProto::Type proto_type(field_kind k) {
    using F = pb::FieldDescriptorProto;
    switch (k) {
        case field_kind::integer: return F::TYPE_INT64;
        case field_kind::real: return F::TYPE_FLOAT;
        case field_kind::real64: return F::TYPE_DOUBLE;
        case field_kind::boolean: return F::TYPE_BOOL;
        case field_kind::text: return F::TYPE_STRING;
        case field_kind::message: return F::TYPE_MESSAGE;
        case field_kind::enumeration: return F::TYPE_ENUM;
    }
    return F::TYPE_BYTES;
}

inline pb::FileDescriptorProto caffe_file() {
    pb::FileDescriptorProto file;
    file.set_name("ktc_caffe_subset.proto");
    file.set_package("caffe");
    file.set_syntax("proto2");
    auto* phase = file.add_enum_type();
    phase->set_name("Phase");
    for (auto [name, number] : {std::pair{"TRAIN", 0}, std::pair{"TEST", 1}}) {
        auto* v = phase->add_value();
        v->set_name(name);
        v->set_number(number);
    }
    for (const auto& m : caffe_messages()) {
        auto* d = file.add_message_type();
        d->set_name(m.name);
        for (const auto& e : m.enums) {
            auto* ed = d->add_enum_type();
            ed->set_name(e.name);
            for (auto [name, number] : e.values) {
                auto* v = ed->add_value();
                v->set_name(name);
                v->set_number(number);
            }
        }
        for (const auto& f : m.fields) {
            auto* fd = d->add_field();
            fd->set_name(f.name);
            fd->set_number(f.number);
            fd->set_label(f.repeated ? pb::FieldDescriptorProto::LABEL_REPEATED
                                     : pb::FieldDescriptorProto::LABEL_OPTIONAL);
            fd->set_type(proto_type(f.kind));
            if (*f.type) fd->set_type_name(std::string(".") + f.type);
            if (*f.fallback) fd->set_default_value(f.fallback);
        }
    }
    return file;
}

// Schema errors are bugs in the tables above, never the user's files.
class schema_error_collector : public pb::DescriptorPool::ErrorCollector {
public:
    void AddError(const std::string& filename, const std::string& element_name, const pb::Message*,
                  ErrorLocation, const std::string& message) override {
        if (first.empty()) first = element_name + ": " + message;
    }
    std::string first;
};

}  // namespace schema_detail

// The pool, its message factory and the two root types. Not copyable: messages made by the
// factory point into the pool.
class schema {
public:
    schema() : factory_(&pool_) {
        schema_detail::schema_error_collector errors;
        const auto* file = pool_.BuildFileCollectingErrors(schema_detail::caffe_file(), &errors);
        if (!file) throw error("the built-in Caffe schema is invalid: " + errors.first);
        net_ = file->FindMessageTypeByName("NetParameter");
    }
    schema(const schema&) = delete;
    schema& operator=(const schema&) = delete;

    std::unique_ptr<pb::Message> new_net() const {
        return std::unique_ptr<pb::Message>(factory_.GetPrototype(net_)->New());
    }

private:
    pb::DescriptorPool pool_;
    mutable pb::DynamicMessageFactory factory_;
    const pb::Descriptor* net_ = nullptr;
};

}  // namespace ktc::convert::caffe
// clang-format on
