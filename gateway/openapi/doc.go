// Package openapi holds the OpenAPI v2 (Swagger) document of clipmesh's REST
// API.
//
// protoc-gen-openapiv2 writes gen/clipmesh.swagger.json from every service's
// HTTP annotations (`make generate`); the file is embedded so that a gateway
// binary serves exactly the API it was built with, with no file to ship
// beside it. Routes the gateway implements by hand (the multipart upload) have
// no annotation, so Document adds them when it loads the file rather than
// anyone editing generated output, which the next generation would overwrite.
package openapi
