module vmseal.test/churn

go 1.19
