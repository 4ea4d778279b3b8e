module example.org/demo

go 1.21

require (
	github.com/gin-gonic/gin v1.5.0
	github.com/gorilla/sessions v1.2.0 // indirect
	github.com/rancher/rancher v2.2.4+incompatible
)

require golang.org/x/text v0.3.7 // indirect

replace github.com/gorilla/sessions => github.com/gorilla/sessions v1.1.3
