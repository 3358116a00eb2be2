module libsmtpclient.example/smtpclient

go 1.19
