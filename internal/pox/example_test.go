package pox_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/autodiscover-go/autodiscover/internal/pox"
)

func ExampleParseRequest() {
	body := `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006">
    <Request>
        <EMailAddress>testuser@company.tld</EMailAddress>
        <AcceptableResponseSchema>
            http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006
        </AcceptableResponseSchema>
    </Request>
</Autodiscover>`
	req, err := pox.ParseRequest(strings.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(req.EMailAddress, req.Schema())
	// Output: testuser@company.tld mobilesync
}

func ExampleMobileSyncSettingsResponse() {
	os.Stdout.Write(pox.MobileSyncSettingsResponse("User1", "testuser@company.tld",
		"https://mobile.mail.us-east-1.awsapps.com/Microsoft-Server-ActiveSync"))
	// Output:
	// <?xml version="1.0" encoding="utf-8"?>
	// <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
	//   <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006">
	//     <Culture>en:us</Culture>
	//     <User>
	//       <DisplayName>User1</DisplayName>
	//       <EMailAddress>testuser@company.tld</EMailAddress>
	//     </User>
	//     <Action>
	//       <Settings>
	//         <Server>
	//           <Type>MobileSync</Type>
	//           <Url>https://mobile.mail.us-east-1.awsapps.com/Microsoft-Server-ActiveSync</Url>
	//           <Name>https://mobile.mail.us-east-1.awsapps.com/Microsoft-Server-ActiveSync</Name>
	//         </Server>
	//       </Settings>
	//     </Action>
	//   </Response>
	// </Autodiscover>
}
