module example.org/x

require (
	github.com/a/b 1.2.3
)
