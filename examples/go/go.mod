module smtpclientexample

go 1.19
