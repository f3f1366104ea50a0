// Command floor is the reference for our overhead (make bench): the least a correct gateway must
// do for an image already at the upstream's size. It parses the API Gateway event, reads the
// token once through the SDK, forwards the image and question, and hands back the upstream's
// answer. No validation, no normalization, no clicks. It is never deployed.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

var (
	awsCfg   aws.Config
	tokenMu  sync.Mutex
	tokenVal string
)

func main() {
	awsCfg, _ = config.LoadDefaultConfig(context.Background())
	lambda.Start(handle)
}

func token(ctx context.Context) string {
	tokenMu.Lock()
	defer tokenMu.Unlock()
	if tokenVal == "" {
		out, err := secretsmanager.NewFromConfig(awsCfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(os.Getenv("TOKEN_SECRET_ID"))})
		if err == nil {
			tokenVal = aws.ToString(out.SecretString)
		}
	}
	return tokenVal
}

func handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		body, _ = base64.StdEncoding.DecodeString(ev.Body)
	}
	var image, question string
	mediaType, params, _ := mime.ParseMediaType(ev.Headers["content-type"])
	switch {
	case mediaType == "application/json":
		var doc struct{ Image, Question, S3 string }
		json.Unmarshal(body, &doc)
		image, question = doc.Image, doc.Question
		if i := strings.Index(image, ","); strings.HasPrefix(image, "data:") && i > 0 {
			image = image[i+1:]
		}
		if ref, ok := strings.CutPrefix(doc.S3, "s3://"); ok {
			bucket, key, _ := strings.Cut(ref, "/")
			out, err := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true }).GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
			if err == nil {
				data, _ := io.ReadAll(out.Body)
				out.Body.Close()
				image = base64.StdEncoding.EncodeToString(data)
			}
		}
	case mediaType == "multipart/form-data":
		form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(8 << 20)
		if err == nil {
			question = strings.Join(form.Value["question"], "")
			if fh := form.File["image"]; len(fh) > 0 {
				f, _ := fh[0].Open()
				data, _ := io.ReadAll(f)
				image = base64.StdEncoding.EncodeToString(data)
			}
		}
	default:
		q, _ := url.ParseQuery(ev.RawQueryString)
		image, question = base64.StdEncoding.EncodeToString(body), q.Get("question")
	}
	payload, _ := json.Marshal(map[string]string{"image": image, "question": question})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, os.Getenv("RECOGNITION_API_URL"), bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token(ctx))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{StatusCode: 502}, nil
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return events.APIGatewayV2HTTPResponse{StatusCode: resp.StatusCode, Body: string(answer), Headers: map[string]string{"content-type": "application/json"}}, nil
}
