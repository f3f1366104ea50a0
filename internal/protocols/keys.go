package protocols

import (
	"strings"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/pipeline"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// missingKey is the refusal of a request that carries no key where its protocol reads one. It
// names that field, and says so when the key was sent where the protocol does not read it (an
// authorization header, the native API's way; or the query, for the createTask envelope), since
// sending it there again would be refused again.
func missingKey(legacy bool, req wire.Request) *apierr.Error {
	var where []string
	if req.Header.Get("Authorization") != "" {
		where = append(where, "the authorization header")
	}
	if !legacy {
		for name := range req.Query {
			if strings.EqualFold(name, "key") || strings.EqualFold(name, "clientKey") {
				where = append(where, "the query")
				break
			}
		}
	}
	msg := `clientKey is required: send {"clientKey": "<your key>", ...} in the JSON body`
	if legacy {
		msg = "key is required: send key=<your key> in the query or the body"
	}
	if len(where) > 0 {
		field := "clientKey in the body"
		if legacy {
			field = "key"
		}
		msg += "; this protocol reads the key from " + field + ", not from " + strings.Join(where, " or ")
	}
	return apierr.New(apierr.CodeInvalidToken, "%s", msg)
}

// keyHint is err, unless it is the pipeline's refusal of a call that carries no key: then it is
// the protocol's own missingKey.
func keyHint(err error, call pipeline.Call, legacy bool, req wire.Request) error {
	k, ok := call.(interface{ missing() bool })
	if ok && k.missing() && apierr.As(err).Code == apierr.CodeInvalidToken {
		return missingKey(legacy, req)
	}
	return err
}

func (k keyed) missing() bool { return strings.TrimSpace(string(k)) == "" }
