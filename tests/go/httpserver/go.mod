module vmseal.test/httpserver

go 1.19
