module github.com/stoahttp/stoa

go 1.26
