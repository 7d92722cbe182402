package gemini

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/upstream"
	"github.com/weirhq/weir/internal/usage"
)

// maxEmbedInputs bounds the inputs of one embeddings call (the Gemini API
// takes at most 100 requests per batchEmbedContents; Vertex AI is called
// once per input).
const maxEmbedInputs = 100

// embeddingsRequest is an OpenAI embeddings request.
type embeddingsRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	Dimensions     *int64          `json:"dimensions"`
	EncodingFormat string          `json:"encoding_format"`
}

type embedRequest struct {
	Model                string  `json:"model,omitempty"`
	Content              content `json:"content"`
	OutputDimensionality *int64  `json:"outputDimensionality,omitempty"`
}

type embedding struct {
	Values []float64 `json:"values"`
}

// embedResponse is an embedContent or batchEmbedContents response. The
// Gemini API reports no usage for embeddings; Vertex AI reports
// usageMetadata.promptTokenCount.
type embedResponse struct {
	Embedding     *embedding  `json:"embedding"`
	Embeddings    []embedding `json:"embeddings"`
	UsageMetadata *struct {
		PromptTokenCount int64 `json:"promptTokenCount"`
	} `json:"usageMetadata"`
}

// embeddingInputs reads input: a string or an array of strings. Token
// arrays cannot be sent to Gemini.
func embeddingInputs(raw json.RawMessage) ([]string, error) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil && len(many) > 0 {
		return many, nil
	}
	return nil, invalid("input", "input must be a string or a non-empty array of strings for Gemini models (token arrays are not supported)")
}

// Embeddings serves an OpenAI embeddings request with batchEmbedContents
// (Gemini API) or one embedContent call per input (Vertex AI).
func (p *Provider) Embeddings(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	var in embeddingsRequest
	if err := json.Unmarshal(req.Body, &in); err != nil {
		return nil, apierror.Wrap(apierror.InvalidRequest, err, "the request body is not a valid embeddings request")
	}
	inputs, err := embeddingInputs(in.Input)
	if err != nil {
		return nil, err
	}
	if len(inputs) > maxEmbedInputs {
		return nil, invalid("input", "at most %d inputs per request for Gemini models", maxEmbedInputs)
	}
	if in.EncodingFormat != "" && in.EncodingFormat != "float" && in.EncodingFormat != "base64" {
		return nil, invalid("encoding_format", "encoding_format must be float or base64")
	}
	model := strings.TrimPrefix(req.Model, "models/")
	var vectors []embedding
	var out *provider.Response
	var total int64
	hasUsage := true
	send := func(path string, body any) (*embedResponse, error) {
		raw, _ := json.Marshal(body)
		sub := *req
		sub.Stream = false
		resp, cancel, err := p.call(ctx, path, raw, &sub)
		if err != nil {
			return nil, err
		}
		defer cancel(nil)
		if out == nil {
			out = &provider.Response{Status: resp.StatusCode, Header: upstream.RelayHeader(resp.Header)}
		}
		b, err := upstream.ReadBody(ctx, resp, req.Wait)
		if err != nil {
			return nil, err
		}
		var r embedResponse
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider returned an embeddings response that is not valid JSON")
		}
		if r.UsageMetadata != nil {
			total += r.UsageMetadata.PromptTokenCount
		} else {
			hasUsage = false
		}
		return &r, nil
	}
	mk := func(s string) embedRequest {
		return embedRequest{Content: content{Parts: []part{{Text: s}}}, OutputDimensionality: in.Dimensions}
	}
	if p.vertex {
		for _, s := range inputs {
			r, err := send(p.modelPath(model, "embedContent"), mk(s))
			if err != nil {
				return nil, err
			}
			if r.Embedding == nil {
				return nil, apierror.New(apierror.UpstreamBadResponse, "the provider returned no embedding")
			}
			vectors = append(vectors, *r.Embedding)
		}
	} else {
		batch := struct {
			Requests []embedRequest `json:"requests"`
		}{}
		for _, s := range inputs {
			e := mk(s)
			e.Model = "models/" + model
			batch.Requests = append(batch.Requests, e)
		}
		r, err := send(p.modelPath(model, "batchEmbedContents"), batch)
		if err != nil {
			return nil, err
		}
		vectors = r.Embeddings
	}
	if len(vectors) != len(inputs) {
		return nil, apierror.Wrap(apierror.UpstreamBadResponse, errors.New("embedding count mismatch"),
			"the provider returned %d embeddings for %d inputs", len(vectors), len(inputs))
	}
	out.Body = encodeEmbeddings(vectors, model, in.EncodingFormat == "base64", total)
	out.ResponseModel = model
	if hasUsage {
		out.Usage, out.HasUsage = usage.Usage{InputTokens: total}, true
	}
	return out, nil
}

// encodeEmbeddings renders an OpenAI embeddings list.
func encodeEmbeddings(vs []embedding, model string, b64 bool, tokens int64) []byte {
	b := []byte(`{"object":"list","data":[`)
	var raw []byte
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"embedding":`...)
		if b64 {
			raw = raw[:0]
			for _, f := range v.Values {
				raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(f)))
			}
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, raw)
			b = append(b, '"')
		} else {
			b = append(b, '[')
			for j, f := range v.Values {
				if j > 0 {
					b = append(b, ',')
				}
				if math.IsNaN(f) || math.IsInf(f, 0) {
					f = 0
				}
				b = strconv.AppendFloat(b, f, 'g', -1, 32)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	b = append(b, `],"model":`...)
	mb, _ := json.Marshal(model)
	b = append(b, mb...)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, tokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, tokens, 10)
	return append(b, "}}"...)
}
