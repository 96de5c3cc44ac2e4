module vmseal.test/victim

go 1.19
