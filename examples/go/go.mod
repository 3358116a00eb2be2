module smtpclientexample

go 1.19

require libsmtpclient.example/smtpclient v0.0.0

// The binding is a module of its own; this example uses the copy next to it.
replace libsmtpclient.example/smtpclient => ./smtpclient
