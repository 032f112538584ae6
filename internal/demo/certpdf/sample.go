package certpdf

import (
	"fmt"
	"time"
)

// DemoDepartment is the issuing department of every Sample certificate; use
// it as the demo seal's unit name so that seal and certificate agree.
const DemoDepartment = "某某县人民政府政务服务中心"

// Made-up people: every combination of surname and given name is plausible.
var (
	surnames   = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗", "高"}
	givenNames = []string{"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "志强", "海燕", "文博", "雨桐", "子涵", "浩然"}
	// Administrative division codes (GB/T 2260) of counties, for the first
	// six digits of the identity numbers.
	regions  = []string{"340121", "340122", "340123", "340124", "341122", "341124", "341125", "341126"}
	services = []string{"居住证明", "户籍关系证明", "婚姻登记记录证明", "社会保险参保缴费证明", "不动产登记信息查询证明", "个体工商户登记证明"}
)

// Sample returns the i-th demo certificate issued on date: a made-up citizen
// with an identity number that passes the GB 11643-1999 checksum, born
// between 18 and 80 years before date. The same i and date always give the
// same certificate.
func Sample(i int, date time.Time) Certificate {
	h := mix(uint64(i))
	pick := func(n int) int { // consume h a little at a time
		v := int(h % uint64(n))
		h /= uint64(n)
		return v
	}
	name := surnames[pick(len(surnames))] + givenNames[pick(len(givenNames))]
	region := regions[pick(len(regions))]
	service := services[pick(len(services))]
	oldest := date.AddDate(-80, 0, 0)
	days := int(date.AddDate(-18, 0, 0).Sub(oldest).Hours() / 24)
	birth := oldest.AddDate(0, 0, pick(days))
	seq := 1 + pick(999)
	body17 := fmt.Sprintf("%s%s%03d", region, birth.Format("20060102"), seq)
	id := body17 + string(idCheckDigit(body17))

	return Certificate{
		Number:     fmt.Sprintf("ZM-%s-%06d", date.Format("20060102"), uint64(i)%1_000_000),
		Name:       name,
		IDNumber:   id,
		Department: DemoDepartment,
		Body: fmt.Sprintf("兹证明%s（公民身份号码：%s）系本县居民。经查询，其于%s向本中心申请办理%s，所提交材料齐全，符合有关规定，现予出具本证明。\n特此证明。",
			name, id, chineseDate(date), service),
		Date: date,
	}
}

// mix is SplitMix64's finaliser: it spreads consecutive i over all 64 bits.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// idWeights are the weights of the 17 body digits, 2^(17-i) mod 11
// (GB 11643-1999 §5.5, ISO 7064:1983 MOD 11-2).
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheckDigit returns the check character of the 17-digit body of an
// identity number (GB 11643-1999 §5.5): '0'–'9' or 'X' for ten.
func idCheckDigit(body17 string) byte {
	sum := 0
	for i := range 17 {
		sum += int(body17[i]-'0') * idWeights[i]
	}
	return "10X98765432"[sum%11]
}

// checkID validates an 18-character identity number (GB 11643-1999 §5):
// six-digit address code, eight-digit date of birth, three-digit sequence,
// and the check character.
func checkID(id string) error {
	if len(id) != 18 {
		return fieldError("IDNumber", id, "must be 18 characters", nil)
	}
	for i := range 17 {
		if id[i] < '0' || id[i] > '9' {
			return fieldError("IDNumber", id, fmt.Sprintf("character %d is not a digit", i+1), nil)
		}
	}
	birth, err := time.Parse("20060102", id[6:14])
	if err != nil || birth.Year() < 1800 {
		return fieldError("IDNumber", id, "has no valid date of birth in characters 7–14", nil)
	}
	if want := idCheckDigit(id[:17]); id[17] != want {
		return fieldError("IDNumber", id, fmt.Sprintf("check character is %q, want %q", id[17], want), nil)
	}
	return nil
}
